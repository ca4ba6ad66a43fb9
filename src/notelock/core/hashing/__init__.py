"""Content hashing: every digest in notelock comes from here.

Digests are xxh3-128, written ``xxh3_128:<32 hex>``.

* :func:`hash_bytes`, :func:`hash_file` — plain xxh3-128 of bytes / of a
  file streamed in constant memory (need only ``xxhash``).
* :func:`hash_json` — hash of canonical compact JSON, for identities.
* :func:`hash_value` / :func:`value_hash` — any Python value, encoded as a
  typed, length-prefixed stream: builtins, numpy arrays (from their buffers),
  pandas DataFrame/Series/Index (column by column, no per-row loops),
  pyarrow arrays, scikit-learn estimators (parameters and learned state),
  functions and classes (by name, or by code when defined in a notebook).
  Unknown objects fall back to pickle and are flagged opaque.
* :func:`estimator_path`, :func:`estimator_params`,
  :func:`fitted_state_hash`, :func:`is_fitted` — scikit-learn helpers.
* :func:`code_hash`, :func:`function_code_hash` — code identities,
  normalised through the Python AST.

numpy, pandas, pyarrow and scikit-learn are never imported by this package
to check a type: an object is only treated as, say, a DataFrame when pandas
is already in ``sys.modules``.
"""

from notelock.core.hashing.api import HashResult, hash_value, value_hash
from notelock.core.hashing.base import PREFIX, RULES_VERSION, hash_bytes, hash_file, hash_json
from notelock.core.hashing.estimators import (
    TIMING_RULE,
    estimator_params,
    estimator_path,
    fitted_state_hash,
    fitted_timings,
    is_fitted,
    is_timing_name,
)
from notelock.core.hashing.names import type_name
from notelock.core.hashing.source import code_hash, function_code_hash

__all__ = [
    "PREFIX",
    "RULES_VERSION",
    "TIMING_RULE",
    "fitted_timings",
    "type_name",
    "HashResult",
    "code_hash",
    "estimator_params",
    "estimator_path",
    "fitted_state_hash",
    "function_code_hash",
    "hash_bytes",
    "hash_file",
    "hash_json",
    "hash_value",
    "is_fitted",
    "is_timing_name",
    "value_hash",
]
