"""``hash_value``: the general entry point, and its convenience form ``value_hash``.

Importing this module loads every handler module, each of which registers
itself in the encoder's registry (``notelock.core.hashing.encoder.handlers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notelock.core.hashing import (  # noqa: F401  (each registers its handlers)
    arrays,
    arrow,
    callables,
    estimators,
    frames,
    objects,
    polars,
    scientific,
)
from notelock.core.hashing.base import PREFIX


@dataclass(frozen=True)
class HashResult:
    """The hash of a value.

    ``opaque`` is True when some part could only be hashed by a fallback
    (pickle bytes, or the type alone); ``reason`` then says what, e.g.
    ``"hashed by pickle: __main__.Thing"``. An opaque hash is recorded but
    cannot be relied on to verify a replay.
    """

    digest: str
    opaque: bool = False
    reason: str | None = None


def hash_value(obj: Any) -> HashResult:
    """Hash any value canonically (see ``notelock.core.hashing`` for what is covered).

    Never raises: values without a canonical form fall back to their pickle
    bytes, or to their type path when they cannot be pickled, and the result
    is marked opaque.
    """
    if estimators.is_estimator(obj):
        try:
            # An estimator's hash is its own: hash_value(est) == fitted_state_hash(est).
            return _estimator_result(obj)
        except Exception:  # noqa: BLE001 - the generic path decides (pickle, type)
            pass
    digest, opaque, reason = objects.generic_digest(obj)
    return HashResult(digest, opaque, reason)


def _estimator_result(est: Any) -> HashResult:
    enc = estimators.Encoder()
    digest = PREFIX + estimators.estimator_digest(est, enc).hex()
    if enc.reasons:
        return HashResult(digest, True, "; ".join(enc.reasons[:3]))
    return HashResult(digest)


def value_hash(obj: Any) -> str:
    """``hash_value(obj).digest``."""
    return hash_value(obj).digest
