"""Numeric summaries, for results verified within a tolerance.

A lock records hashes, and a hash cannot say "close enough". For cells
declared with ``%%lock --rtol/--atol`` the recorder therefore also keeps, per
numeric value the cell bound, a small summary: every element when there are
at most :data:`FULL_LIMIT` of them, otherwise the shape, NaN count, minimum,
maximum, sum, sum of absolute values and an evenly strided sample of
:data:`SAMPLE` elements. :func:`within_tolerance` compares two summaries.

For small values the comparison is exact elementwise (``numpy.isclose``
semantics). For large ones it is a necessary condition: the sample must be
elementwise close, and the aggregates within the bounds elementwise closeness
implies. A change that leaves every sampled element and every aggregate
within tolerance is not detected; docs/replay.md says so.
"""

from __future__ import annotations

import math
import sys
from typing import Any

FULL_LIMIT = 256
SAMPLE = 64


def summarize(value: Any) -> dict[str, Any] | None:
    """A JSON summary of a numeric value, or None for anything else."""
    np = sys.modules.get("numpy")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return {"kind": "scalar", "value": _f(value)}
    if np is None:
        return None
    if isinstance(value, np.generic) and np.issubdtype(type(value), np.number):
        return {"kind": "scalar", "value": _f(float(value))}
    arr = _as_array(value, np)
    if arr is None:
        return None
    flat = arr.astype("float64", copy=False).ravel()
    out: dict[str, Any] = {"kind": "array", "shape": list(arr.shape), "n": int(flat.size)}
    if flat.size <= FULL_LIMIT:
        out["values"] = [_f(v) for v in flat.tolist()]
        return out
    finite = flat[np.isfinite(flat)]
    out["nans"] = int(np.isnan(flat).sum())
    out["min"] = _f(float(finite.min())) if finite.size else None
    out["max"] = _f(float(finite.max())) if finite.size else None
    out["sum"] = _f(float(finite.sum()))
    out["abs_sum"] = _f(float(np.abs(finite).sum()))
    idx = np.linspace(0, flat.size - 1, SAMPLE).astype(int)
    out["sample"] = [_f(v) for v in flat[idx].tolist()]
    return out


def _as_array(value: Any, np: Any) -> Any:
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, (pd.Series, pd.DataFrame)):
        try:
            value = value.select_dtypes("number") if isinstance(value, pd.DataFrame) else value
            if isinstance(value, pd.Series) and not pd.api.types.is_numeric_dtype(value.dtype):
                return None
            value = value.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size:
        return value
    return None


def _f(v: float) -> Any:
    # JSON has no NaN/inf: keep them as the lock format writes non-finite floats
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    return v


def _num(v: Any) -> float:
    if isinstance(v, dict):
        return float(v.get("float", "nan"))
    return float(v) if v is not None else math.nan


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    x, y = _num(a), _num(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= atol + rtol * abs(y)


def within_tolerance(a: dict[str, Any] | None, b: dict[str, Any] | None, rtol: float,
                     atol: float) -> tuple[bool, str]:
    """Whether summary *b* is within ``rtol``/``atol`` of *a*; and why not."""
    if a is None or b is None:
        return False, "no numeric summary to compare"
    if a.get("kind") != b.get("kind"):
        return False, "a scalar became an array or the reverse"
    if a["kind"] == "scalar":
        ok = _close(b["value"], a["value"], rtol, atol)
        return ok, "" if ok else f"{_num(a['value'])!r} → {_num(b['value'])!r}"
    if a.get("shape") != b.get("shape"):
        return False, f"shape {tuple(a.get('shape', ()))} → {tuple(b.get('shape', ()))}"
    if "values" in a and "values" in b:
        for i, (x, y) in enumerate(zip(a["values"], b["values"])):
            if not _close(y, x, rtol, atol):
                return False, f"element {i}: {_num(x)!r} → {_num(y)!r}"
        return True, ""
    if a.get("nans") != b.get("nans"):
        return False, f"NaN count {a.get('nans')} → {b.get('nans')}"
    for i, (x, y) in enumerate(zip(a.get("sample", []), b.get("sample", []))):
        if not _close(y, x, rtol, atol):
            return False, f"sampled element {i}: {_num(x)!r} → {_num(y)!r}"
    scale = max(abs(_num(a.get("max"))), abs(_num(a.get("min"))), 0.0) if a.get("max") is not None else 0.0
    for key in ("min", "max"):
        if a.get(key) is not None and b.get(key) is not None:
            if abs(_num(a[key]) - _num(b[key])) > atol + rtol * scale:
                return False, f"{key} {_num(a[key])!r} → {_num(b[key])!r}"
    n = a.get("n", 0)
    bound = n * atol + rtol * _num(b.get("abs_sum"))
    if abs(_num(a.get("sum")) - _num(b.get("sum"))) > bound:
        return False, f"sum {_num(a.get('sum'))!r} → {_num(b.get('sum'))!r}"
    return True, ""


__all__ = ["summarize", "within_tolerance", "FULL_LIMIT", "SAMPLE"]
