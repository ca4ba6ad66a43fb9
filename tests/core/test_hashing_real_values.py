"""Values real notebooks hold are hashed exactly (not opaque): searches without
their measured times, figures by what they draw, scipy distributions, CV
splitters, objects following scikit-learn's parameter convention."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_iris
from sklearn.gaussian_process.kernels import RBF
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, StratifiedKFold
from sklearn.svm import SVC

from notelock.core.hashing import hash_value
from notelock.core.hashing.estimators import TIMING_RULE, fitted_timings, is_timing_name

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

X, y = load_iris(return_X_y=True)


def exact(value):
    result = hash_value(value)
    assert not result.opaque, result.reason
    return result.digest


@pytest.mark.parametrize("make", [
    lambda: GridSearchCV(SVC(), {"C": [1, 10]}, cv=3),
    lambda: RandomizedSearchCV(SVC(), {"C": stats.loguniform(1e-2, 1e2)}, n_iter=3, cv=3, random_state=0),
])
def test_two_identical_searches_hash_equal(make):
    a, b = make().fit(X, y), make().fit(X, y)
    b.refit_time_ = a.refit_time_ + 1.0  # measured times never agree: make sure they differ here
    b.cv_results_["mean_fit_time"] = a.cv_results_["mean_fit_time"] + 1.0
    assert exact(a) == exact(b)


def test_a_search_that_learned_something_else_differs():
    a = GridSearchCV(SVC(), {"C": [1, 10]}, cv=3).fit(X, y)
    b = GridSearchCV(SVC(), {"C": [0.01, 10]}, cv=3).fit(X, y)
    assert exact(a) != exact(b)
    c = GridSearchCV(SVC(), {"C": [1, 10]}, cv=3).fit(X, y)
    c.cv_results_["mean_test_score"] = c.cv_results_["mean_test_score"] + 1e-12  # a score, not a time
    assert exact(c) != exact(a)


def test_the_timing_rule_is_named_and_keeps_the_times():
    assert TIMING_RULE == "fitted-timings/1"
    assert is_timing_name("refit_time_") and is_timing_name("mean_fit_time") and not is_timing_name("n_iter_")
    search = GridSearchCV(SVC(), {"C": [1, 10]}, cv=3).fit(X, y)
    times = fitted_timings(search)
    assert set(times) == {"refit_time_", "cv_results_[mean_fit_time]", "cv_results_[std_fit_time]",
                          "cv_results_[mean_score_time]", "cv_results_[std_score_time]"}
    assert times["cv_results_[mean_fit_time]"] == search.cv_results_["mean_fit_time"].tolist()


def _figure(ys, title="t", color="r"):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], ys, color=color, label="a")
    ax.scatter([1, 2], [3, 4])
    ax.imshow(np.eye(3))
    ax.set_title(title)
    ax.legend()
    plt.close(fig)
    return fig


def test_figures_hash_by_what_they_draw():
    base = exact(_figure([1, 2, 3]))
    assert exact(_figure([1, 2, 3])) == base
    assert exact(_figure([1, 2, 4])) != base
    assert exact(_figure([1, 2, 3], title="u")) != base
    assert exact(_figure([1, 2, 3], color="b")) != base
    drawn = _figure([1, 2, 3])
    drawn.canvas.draw()  # the inline backend draws at the end of a cell: same hash
    assert exact(drawn) == base
    assert exact(drawn.axes[0]) != base


def test_scipy_distributions():
    assert exact(stats.randint(1, 11)) == exact(stats.randint(1, 11))
    assert exact(stats.randint(1, 11)) != exact(stats.randint(1, 12))
    assert exact(stats.norm(0, 1)) != exact(stats.norm(0, 2))
    assert exact(stats.norm) != exact(stats.expon)
    seeded = stats.norm(0, 1)
    seeded.random_state = 3
    assert exact(seeded) != exact(stats.norm(0, 1))


def test_splitters_and_parameter_objects():
    assert exact(KFold(3, shuffle=True, random_state=0)) == exact(KFold(3, shuffle=True, random_state=0))
    assert exact(KFold(3)) != exact(KFold(4))
    assert exact(StratifiedKFold(3)) != exact(KFold(3))
    assert exact(RBF(1.0)) != exact(RBF(2.0))


def test_masked_and_structured_arrays():
    a = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    b = np.ma.masked_array([1.0, 5.0], mask=[False, True])
    c = np.ma.masked_array([1.0, 2.0], mask=[False, False])
    assert exact(a) != exact(c)
    assert exact(np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])) != \
        exact(np.array([(1, 3.0)], dtype=[("a", "i4"), ("b", "f8")]))
    assert exact(a) == exact(b)  # what is under the mask is not part of the value


def test_lightgbm_datasets_hash_by_what_they_were_made_from():
    """A LightGBM Dataset holds a native handle once a model was trained on
    it: it hashes by its data, label and parameters and whether it was
    constructed, never opaquely; the same steps give the same hash."""
    lgb = pytest.importorskip("lightgbm")
    import pandas as pd

    X = pd.DataFrame({"a": range(100), "b": np.repeat([0, 1, 2, 3], 25)})
    y = np.arange(100) % 2
    one, two = lgb.Dataset(X, y), lgb.Dataset(X, y)
    raw = hash_value(one)
    assert not raw.opaque and raw.digest == hash_value(two).digest
    assert hash_value(lgb.Dataset(X, 1 - y)).digest != raw.digest
    assert hash_value(lgb.Dataset(X, y, params={"max_bin": 15})).digest != raw.digest
    for dataset in (one, two):
        lgb.train({"objective": "binary", "verbose": -1}, dataset, num_boost_round=2)
    built = hash_value({"data": one})
    assert not built.opaque and built.digest == hash_value({"data": two}).digest
    assert hash_value(one).digest != raw.digest  # constructed (its raw data freed)
