"""``hash_value``: the general dispatcher, and its convenience form ``value_hash``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    from notelock.core.hashing import estimators
    from notelock.core.hashing.base import hash_bytes
    from notelock.core.hashing.encoder import Encoder, TooLarge
    from notelock.core.hashing.objects import pickle_fallback

    enc = Encoder()
    try:
        if estimators.is_estimator(obj):
            # An estimator's hash is its own: hash_value(est) == fitted_state_hash(est).
            digest = "xxh3_128:" + estimators.estimator_digest(obj, enc).hex()
        else:
            enc.encode(obj)
            digest = enc.hexdigest()
    except TooLarge:
        # an object graph too big to walk: its type stands in (pickling it
        # could be as slow), and the value is flagged as not verifiable
        name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        return HashResult(hash_bytes(b"too-large\0" + name.encode()), True,
                          f"too large to hash structurally: {name}")
    except Exception:  # noqa: BLE001 - never raise: the whole value goes to the fallback
        digest, reason = pickle_fallback(obj)
        return HashResult(digest, True, reason)
    if enc.reasons:
        return HashResult(digest, True, "; ".join(enc.reasons[:3]))
    return HashResult(digest)


def value_hash(obj: Any) -> str:
    """``hash_value(obj).digest``."""
    return hash_value(obj).digest
