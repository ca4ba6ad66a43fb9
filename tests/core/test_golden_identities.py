"""Golden identities: every value below has a checked-in digest.

A change of any hashing or normalisation rule changes some digest here, and
must come with a new ``notelock.core.hashing.RULES_VERSION`` (recorded in every
lock), so that an id never changes silently between releases. The table is
checked on every Python / pandas / pyarrow / scikit-learn version CI runs.

To write the table after a deliberate rules change::

    python tests/core/test_golden_identities.py --write
"""

from __future__ import annotations

import datetime as dt
import decimal
import fractions
import json
import sys
from collections import Counter, OrderedDict, namedtuple
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from notelock.core import hashing, lockfile

GOLDEN = Path(__file__).with_name("golden") / "identities.json"
Point = namedtuple("Point", "x y", module="golden_values")


def _fitted(est, X, y=None):
    return est.fit(X, y) if y is not None else est.fit(X)


def _with_state(est, **state):
    """An estimator in a fitted state given exactly: what BLAS-based solvers
    learn differs in the last bits between CPUs, and the table must hold on
    every machine (the hashing rules are what it pins, not a solver)."""
    for name, value in state.items():
        setattr(est, name, value)
    return est


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], [2.0, 1.0, 3.0], "r--", label="a")
    ax.bar([1, 2], [3, 4], color="C1")
    ax.set(title="t", xlabel="x", ylabel="y", xlim=(0, 4))
    ax.legend()
    plt.close(fig)
    return fig


def _ols():
    import statsmodels.api as sm

    x = np.linspace(0, 1, 20)
    results = sm.OLS(2 * x + np.sin(7 * x), sm.add_constant(x)).fit()
    str(results.summary())  # a filled cache does not count
    return results


def values() -> dict[str, object]:
    """name → value (built deterministically)."""
    from scipy import stats
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.RandomState(0)
    X = rng.rand(40, 3)
    y = (X[:, 0] > 0.5).astype(int)
    out: dict[str, object] = {
        "none": None, "true": True, "int": 7, "bigint": 1 << 80, "negint": -3, "float": 0.1, "nan": float("nan"),
        "negzero": -0.0, "complex": 1 + 2j, "str": "naïve", "bytes": b"\x00\x01", "bytearray": bytearray(b"ab"),
        "list": [1, "1", 1.0], "tuple": (1, 2), "dict": {"b": 1, "a": [2]}, "dict-int-keys": {2: "x", 1: "y"},
        "set": {3, 1, 2}, "frozenset": frozenset({"a"}), "range": range(0, 10, 3), "slice": slice(1, None, 2),
        "nested": {"k": [(1, {"z": None})]}, "ordereddict": OrderedDict([("b", 1), ("a", 2)]),
        "counter": Counter("abca"), "namedtuple": Point(1, 2),
        "datetime": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), "date": dt.date(2025, 1, 2),
        "timedelta": dt.timedelta(days=1, seconds=2), "decimal": decimal.Decimal("1.10"),
        "fraction": fractions.Fraction(3, 4), "path": Path("data/t.csv"),
        # numpy
        "np-int64": np.arange(10, dtype=np.int64), "np-float32-2d": np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
        "np-fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "np-bool": np.array([True, False]),
        "np-str": np.array(["a", "bc"]), "np-object": np.array(["a", 1, None], dtype=object),
        "np-datetime": np.array(["2025-01-01", "2025-06-01"], dtype="datetime64[D]"),
        "np-structured": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        "np-masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False]),
        "np-scalar": np.float64(1.5), "np-dtype": np.dtype("int16"), "np-slice": np.arange(20)[3:15:2],
        "randomstate": np.random.RandomState(42), "generator": np.random.default_rng(42),
        # pandas
        "pd-frame": pd.DataFrame({"a": [1, 2, 3], "b": [0.5, None, 1.5], "c": ["x", "y", None]}),
        "pd-frame-index": pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["r1", "r2"], name="row")),
        "pd-categorical": pd.Series(pd.Categorical(["a", "b", "a"]), name="cat"),
        "pd-nullable": pd.Series([1, None, 3], dtype="Int64"), "pd-bool": pd.Series([True, None], dtype="boolean"),
        "pd-string": pd.Series(["a", None], dtype="string"),
        "pd-datetime-tz": pd.Series(pd.date_range("2025-01-01", periods=3, tz="Europe/Paris")),
        "pd-timedelta": pd.Series(pd.to_timedelta([1, 2], unit="h")),
        "pd-period": pd.Series(pd.period_range("2025-01", periods=2, freq="M")),
        "pd-interval": pd.Series(pd.interval_range(0, 3)), "pd-multiindex": pd.DataFrame(
            {"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])),
        "pd-range-index": pd.RangeIndex(5), "pd-timestamp": pd.Timestamp("2025-01-01 12:00"), "pd-nat": pd.NaT,
        "pd-na": pd.NA, "pd-object-mixed": pd.Series(["a", 1, 2.5, None], dtype=object),
        # pyarrow
        "pa-array": pa.array([1, None, 3]), "pa-chunked": pa.chunked_array([[1, 2], [3]]),
        "pa-table": pa.table({"a": [1, 2], "s": ["x", None]}), "pa-strings": pa.array(["a", "bc", None]),
        "pa-slice": pa.array(list(range(10)))[2:7],
        # polars
        "pl-frame": pl.DataFrame({"a": [1, None, 3], "s": ["x", "yz", None], "f": [0.5, 1.5, -0.0]}),
        "pl-series": pl.Series("s", ["a", "bc", None]),
        "pl-categorical": pl.DataFrame({"c": pl.Series(["x", "y", "x"], dtype=pl.Categorical)}),
        "pl-slice": pl.DataFrame({"i": list(range(10))}).slice(2, 5),
        # scikit-learn
        "est-unfitted": RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
        "est-logreg": _with_state(LogisticRegression(max_iter=200), classes_=np.array([0, 1]), n_features_in_=3,
                                  coef_=np.array([[2.5, -0.125, 0.0625]]), intercept_=np.array([-1.25]),
                                  n_iter_=np.array([9], dtype=np.int32)),
        "est-tree": _fitted(DecisionTreeClassifier(max_depth=2, random_state=0), X, y),
        "est-forest": _fitted(RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0), X, y),
        "est-pipeline": make_pipeline(
            _with_state(StandardScaler(), n_features_in_=3, n_samples_seen_=np.int64(40),
                        mean_=np.array([0.5, 0.25, 0.75]), var_=np.array([0.0625, 0.125, 0.5]),
                        scale_=np.sqrt(np.array([0.0625, 0.125, 0.5]))),
            _with_state(Ridge(alpha=0.5), n_features_in_=3, coef_=np.array([0.0, 1.0, -0.5]),
                        intercept_=np.float64(0.25), solver_="cholesky")),
        "est-pca": _with_state(PCA(n_components=2, random_state=0), n_features_in_=3, n_samples_=40,
                               n_components_=2, mean_=np.array([0.5, 0.25, 0.75]),
                               components_=np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]),
                               explained_variance_=np.array([0.5, 0.25]),
                               explained_variance_ratio_=np.array([0.625, 0.3125]),
                               singular_values_=np.array([4.5, 3.0]), noise_variance_=np.float64(0.05)),
        "kfold": KFold(n_splits=3, shuffle=True, random_state=0), "stratified-kfold": StratifiedKFold(n_splits=4),
        "grid-search": _fitted(GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2]}, cv=3), X, y),
        # the scientific stack
        "scipy-randint": stats.randint(1, 11), "scipy-loguniform": stats.loguniform(1e-3, 1e3),
        "scipy-norm-family": stats.norm, "mpl-figure": _figure(),
        "sm-ols-results": _ols(),
    }
    return out


CODE = {
    "code-simple": "x = 1\ny = x + 2\n",
    "code-comments": "x = 1  # one\n\n# comment\ny = x + 2\n",
    "code-function": "def f(a, b=2, *args, **kw):\n    '''doc'''\n    return a + b\n",
    "code-class": "class A:\n    z = 3\n    def m(self):\n        return [i * self.z for i in range(3)]\n",
    "code-fstring": "name = 'x'\nprint(f'{name!r:>10}')\n",
    "code-async": "async def g():\n    async with lock:\n        await h()\n",
    "code-match": "match p:\n    case {'k': [a, *rest]}:\n        pass\n    case _:\n        pass\n",
    "code-walrus": "if (n := len(a)) > 10:\n    print(n)\n",
    "code-try": "try:\n    pass\nexcept (ValueError, KeyError) as e:\n    raise RuntimeError() from e\nfinally:\n    x = 1\n",
    "code-decorated": "@dec(1)\ndef f() -> int:\n    return 1\n",
}

LOCK_CELLS = [{"node": "@cell_0123456789ab", "nodes": ["@read_0123456789ab"], "source": "df = pd.read_csv('t.csv')"}]


def digests() -> dict[str, str]:
    out = {name: hashing.value_hash(value) for name, value in values().items()}
    out.update({name: hashing.code_hash(src) for name, src in CODE.items()})
    out["json"] = hashing.hash_json({"b": [1, 2.5, None, True], "a": "ü"})
    out["lock-identity"] = lockfile.lock_identity(LOCK_CELLS)
    return out


def test_golden_identities_hold():
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert expected["rules"] == hashing.RULES_VERSION, "the rules version changed: rewrite the table (--write)"
    got = digests()
    assert set(got) == set(expected["digests"])
    changed = {name: (expected["digests"][name], got[name]) for name in got if got[name] != expected["digests"][name]}
    assert not changed, f"digests changed without a new RULES_VERSION: {sorted(changed)}"


def test_golden_table_is_sensitive():
    # positive control: a one-ulp change of a value changes its digest
    frame = values()["pd-frame"]
    other = frame.copy()
    other.loc[0, "b"] = np.nextafter(0.5, 1.0)
    assert hashing.value_hash(frame) != hashing.value_hash(other)


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({"rules": hashing.RULES_VERSION, "digests": digests()}, indent=2, sort_keys=True)
                      + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
elif __name__ == "__main__":
    pytest.main([__file__])
