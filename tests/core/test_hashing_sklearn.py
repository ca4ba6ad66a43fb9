"""Hashing of scikit-learn estimators: paths, canonical params, fitted state."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from notelock.core.hashing import (
    estimator_params,
    estimator_path,
    fitted_state_hash,
    hash_value,
    is_fitted,
    value_hash,
)


@pytest.fixture(scope="module")
def data():
    return make_classification(300, 8, random_state=0)


def forest(data, **kw):
    params = {"n_estimators": 10, "max_depth": 4, "random_state": 0, "n_jobs": 1}
    params.update(kw)
    return RandomForestClassifier(**params).fit(*data)


class MyEst(BaseEstimator):
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y=None):
        self.mean_ = np.asarray(X).mean(axis=0)
        return self


def test_estimator_path_is_public():
    assert estimator_path(RandomForestClassifier) == "sklearn.ensemble.RandomForestClassifier"
    assert estimator_path(RandomForestClassifier()) == "sklearn.ensemble.RandomForestClassifier"
    assert estimator_path(Pipeline) == "sklearn.pipeline.Pipeline"
    assert estimator_path(LogisticRegression()) == "sklearn.linear_model.LogisticRegression"
    # not exposed by sklearn.tree: the private module stays
    from sklearn.tree._tree import Tree

    assert estimator_path(Tree) == "sklearn.tree._tree.Tree"
    assert estimator_path(MyEst) == f"{__name__}.MyEst"


def test_estimator_params_canonical_json():
    params = estimator_params(RandomForestClassifier(n_estimators=7, max_depth=None))
    assert params["n_estimators"] == 7 and params["max_depth"] is None
    assert list(params) == sorted(params)
    json.dumps(params)  # plain JSON

    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=0.5))])
    steps = estimator_params(pipe)["steps"]
    assert steps[0][0] == "scale"
    assert steps[0][1]["estimator"] == "sklearn.preprocessing.StandardScaler"
    assert steps[1][1]["params"]["C"] == 0.5

    rs = estimator_params(RandomForestClassifier(random_state=np.random.RandomState(0)))["random_state"]
    assert rs["type"] == "numpy.random.mtrand.RandomState" and rs["hash"].startswith("xxh3_128:")
    sel = estimator_params(SelectKBest(f_classif, k=3))["score_func"]
    assert set(sel) == {"hash", "type"}
    json.dumps(estimator_params(SelectKBest(f_classif, k=3)))


def test_unfitted_hash_is_path_and_params():
    a = RandomForestClassifier(n_estimators=5)
    assert not is_fitted(a)
    assert value_hash(a) == value_hash(RandomForestClassifier(n_estimators=5))
    assert value_hash(a) != value_hash(RandomForestClassifier(n_estimators=6))
    assert value_hash(a) == fitted_state_hash(a)
    assert value_hash(MyEst(1.0)) != value_hash(MyEst(2.0))
    # an int and a float parameter differ
    assert value_hash(MyEst(1)) != value_hash(MyEst(1.0))


def test_two_independent_fits_hash_equal(data):
    a, b = forest(data), forest(data)
    assert is_fitted(a)
    ha, hb = hash_value(a), hash_value(b)
    assert not ha.opaque, ha.reason
    assert ha.digest == hb.digest == fitted_state_hash(a)


def test_fitted_differs_from_unfitted_and_by_seed_and_depth(data):
    base = value_hash(forest(data))
    assert base != value_hash(RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0, n_jobs=1))
    assert base != value_hash(forest(data, random_state=1))
    assert base != value_hash(forest(data, max_depth=3))


def test_fitted_state_sees_learned_values(data):
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(*data)
    other = DecisionTreeClassifier(max_depth=3, random_state=0).fit(*data)
    assert fitted_state_hash(tree) == fitted_state_hash(other)
    other.tree_.threshold[0] += 1e-9  # a learned value changes, params do not
    assert fitted_state_hash(tree) != fitted_state_hash(other)


def test_pipelines_and_nested_estimators(data):
    X, y = data
    p1 = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)
    p2 = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)
    assert not hash_value(p1).opaque
    assert value_hash(p1) == value_hash(p2)
    p3 = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression(C=2.0))]).fit(X, y)
    assert value_hash(p1) != value_hash(p3)
    gb1 = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y)
    gb2 = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert value_hash(gb1) == value_hash(gb2)
    assert not hash_value(gb1).opaque, hash_value(gb1).reason


def test_prefit_estimator_parameter_counts(data):
    inner1 = LogisticRegression().fit(*data)
    inner2 = LogisticRegression(C=0.01).fit(*data)
    inner2.set_params(C=1.0)  # same params, different learned state
    p1 = estimator_params(SelectKBest(k=2).set_params(score_func=f_classif))
    assert "fitted" not in json.dumps(p1)

    from sklearn.feature_selection import SelectFromModel

    a = estimator_params(SelectFromModel(inner1, prefit=True))["estimator"]
    b = estimator_params(SelectFromModel(inner2, prefit=True))["estimator"]
    assert a["params"] == b["params"]
    assert a["fitted"] != b["fitted"]


def test_user_estimator_duck_typed():
    est = MyEst().fit(np.arange(6.0).reshape(3, 2))
    assert is_fitted(est)
    assert value_hash(est) == value_hash(MyEst().fit(np.arange(6.0).reshape(3, 2)))
    assert value_hash(est) != value_hash(MyEst().fit(np.arange(6.0).reshape(2, 3)))

    class Duck:
        def __init__(self, k=3):
            self.k = k

        def get_params(self, deep=True):
            return {"k": self.k}

        def fit(self, X, y=None):
            self.seen_ = len(X)
            return self

    assert value_hash(Duck(3)) != value_hash(Duck(4))
    assert value_hash(Duck().fit([1, 2])) != value_hash(Duck().fit([1, 2, 3]))
    assert not hash_value(Duck(3)).opaque


def test_estimator_in_containers(data):
    a, b = forest(data), forest(data)
    assert value_hash({"model": a, "n": 1}) == value_hash({"model": b, "n": 1})
    assert value_hash([a]) != value_hash([forest(data, random_state=2)])


def test_a_cache_folder_is_not_part_of_what_a_pipeline_is(tmp_path):
    """``memory=`` (a joblib.Memory or a folder name) decides where fitted steps
    are kept, never what they are: pipelines cached in different temporary
    folders (as sklearn's examples do with ``mkdtemp()``) hash equal, fitted
    or not; ``mmap_mode`` (memory-mapped results) and caching vs none differ."""
    import time

    from joblib import Memory

    def pipe(memory):
        return Pipeline([("s", StandardScaler()), ("m", LogisticRegression())], memory=memory)

    one = Memory(location=str(tmp_path / "a"), verbose=0)
    time.sleep(0.01)  # a Memory keeps its creation time
    two = Memory(location=str(tmp_path / "b"), verbose=10)
    assert value_hash(one) == value_hash(two)
    assert value_hash(one) != value_hash(Memory(location=str(tmp_path / "a"), mmap_mode="r"))
    assert value_hash(pipe(one)) == value_hash(pipe(two))
    assert value_hash(pipe(str(tmp_path / "a"))) == value_hash(pipe(str(tmp_path / "b")))
    assert value_hash(pipe(one)) != value_hash(pipe(None))
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    assert fitted_state_hash(pipe(one).fit(X, y)) == fitted_state_hash(pipe(two).fit(X, y))


def test_a_cached_function_is_the_function_not_its_cache_folder(tmp_path):
    """``memory.cache(f)`` (as sklearn's examples wrap ``f_regression``) is the
    function, the arguments it ignores and ``mmap_mode``: two caches in
    different folders give equal hashes, and so do the selectors built on them."""
    import time

    import numpy as np
    from joblib import Memory
    from sklearn.feature_selection import SelectPercentile, f_classif, f_regression

    one = Memory(location=str(tmp_path / "a"), verbose=0).cache(f_regression)
    time.sleep(0.01)  # a cached function keeps the time it was made
    two = Memory(location=str(tmp_path / "b"), verbose=1).cache(f_regression)
    assert value_hash(one) == value_hash(two)
    assert value_hash(SelectPercentile(one)) == value_hash(SelectPercentile(two))
    memory = Memory(location=str(tmp_path / "a"), verbose=0)
    assert value_hash(one) != value_hash(memory.cache(f_classif))
    assert value_hash(one) != value_hash(memory.cache(f_regression, ignore=["center"]))
    assert value_hash(one) != value_hash(memory.cache(f_regression, mmap_mode="r"))
    assert value_hash(one) != value_hash(Memory(location=None).cache(f_regression))
    assert not hash_value(one).opaque
    X = np.arange(40.0).reshape(20, 2)
    y = X[:, 0] * 2
    assert np.array_equal(one(X, y)[0], f_regression(X, y)[0])
