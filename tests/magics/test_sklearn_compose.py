"""notelock never changes a result: estimator methods wrapped while a cell is
locked compose with scikit-learn's own method wrapping (set_output,
available_if, metadata routing), stay bound methods, pickle, and are put back
exactly. Each case runs the same code in a plain kernel and in a locked one
and compares what the cells print."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel

SETUP = "import numpy as np, pandas as pd, sklearn\n" \
        "df = pd.DataFrame({'a': list('xyzxyzxyzx') * 3, 'b': np.arange(30.0)})\n" \
        "y = np.random.RandomState(0).rand(30)\n"

CASES = {
    # the TargetEncoder class is created while the cell is locked: its
    # set_output wrapping must survive the cell
    "set_output on a class imported by the locked cell": (
        "from sklearn.preprocessing import TargetEncoder\n",
        "out = TargetEncoder(random_state=0).set_output(transform='pandas').fit_transform(df[['a']], y)\n"
        "print(type(out).__name__, list(out.columns))\n",
    ),
    "transform_output=pandas through a Pipeline": (
        "sklearn.set_config(transform_output='pandas')\n"
        "from sklearn.preprocessing import TargetEncoder\nfrom sklearn.linear_model import Ridge\n"
        "from sklearn.pipeline import make_pipeline\n",
        "p = make_pipeline(TargetEncoder(random_state=0), Ridge()).fit(df[['a']], y)\n"
        "print(list(p[-1].feature_names_in_), round(float(p.score(df[['a']], y)), 6))\n"
        "sklearn.set_config(transform_output='default')\n",
    ),
    "bound methods, signatures, pickling": (
        "import inspect, pickle\nfrom sklearn.linear_model import LogisticRegression\n",
        "m = LogisticRegression().fit(df[['b']], (y > .5).astype(int))\n"
        "print(inspect.ismethod(m.predict), m.predict.__self__ is m, inspect.signature(m.predict))\n"
        "print(pickle.loads(pickle.dumps(m.predict))(df[['b']])[:5])\n"
        "print(pickle.loads(pickle.dumps(m)).predict(df[['b']])[:5])\n",
    ),
    "available_if keeps raising AttributeError": (
        "from sklearn.pipeline import make_pipeline\nfrom sklearn.linear_model import Ridge\n",
        "p = make_pipeline(Ridge()).fit(df[['b']], y)\n"
        "print(hasattr(p, 'predict_proba'), hasattr(p, 'predict'))\n",
    ),
    "a notebook estimator pickled by value for joblib workers": (
        "import cloudpickle\nfrom sklearn.base import BaseEstimator, TransformerMixin\n",
        "class Shift(TransformerMixin, BaseEstimator):\n"
        "    def __init__(self, k=1.0):\n        self.k = k\n"
        "    def fit(self, X, y=None):\n        self.n_ = len(X)\n        return self\n"
        "    def transform(self, X):\n        return np.asarray(X) + self.k\n"
        "clone = cloudpickle.loads(cloudpickle.dumps(Shift))\n"
        "print(type(clone.__dict__['fit']).__name__, clone().fit_transform(df[['b']])[:2].tolist())\n"
        "from sklearn.base import clone as sk_clone\n"
        "print(sk_clone(Shift(k=2.0)).get_params())\n",
    ),
}


def _run(kernel, locked: bool, imports: str, body: str) -> list[str]:
    prefix = "%%lock\n" if locked else ""
    outs = [kernel.run(SETUP)]
    outs.append(kernel.run(prefix + imports))
    outs.append(kernel.run(prefix + body))
    # after the cell: classes are as scikit-learn made them
    outs.append(kernel.run("import sklearn.preprocessing as P\n"
                           "print(hasattr(P.TargetEncoder.__dict__['fit_transform'], '__wrapped__'))"))
    return [f"{o['status']} {o['ename']} {o['stdout']}" for o in outs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_locked_and_plain_runs_print_the_same(kernel_factory, name):
    imports, body = CASES[name]
    plain = kernel_factory(notebook="plain.ipynb")
    plain_out = _run(plain, False, imports, body)
    locked = kernel_factory(notebook="locked.ipynb")
    locked.ok("%load_ext notelock")
    locked_out = _run(locked, True, imports, body)
    assert all(o.startswith("ok None") for o in plain_out), plain_out
    assert locked_out == plain_out


def test_the_locked_cells_were_recorded(kernel_factory, tmp_path):
    # positive control: the comparison above ran with the interceptors in place
    import json

    k = kernel_factory(notebook="locked.ipynb")
    k.ok("%load_ext notelock")
    imports, body = CASES["transform_output=pandas through a Pipeline"]
    _run(k, True, imports, body)
    lock = json.loads((tmp_path / "locked.lock.json").read_text())
    ops = sorted(n["op"] + ":" + n.get("estimator", "") for n in lock["nodes"].values() if n["op"] != "cell")
    assert "fit:sklearn.pipeline.Pipeline" in ops and "score:sklearn.pipeline.Pipeline" in ops
