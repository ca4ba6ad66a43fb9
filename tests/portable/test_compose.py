"""Composition by identity: an inference notebook imports a training lock's model.

Real kernels, through ``notelock lock`` (headless builds), ``status``, ``diff``
and ``replay``: change training's ``max_depth``, re-run both, and the diff of
the inference locks names the imported model as the root cause.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from portable_helpers import write_data, write_notebook

from notelock.cli import main
from notelock.core.hashing import hash_value
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

TRAIN = ["%load_ext notelock", "import pandas as pd\nfrom sklearn.tree import DecisionTreeClassifier",
         "%%lock\ndf = pd.read_csv('data.csv')",
         "%%lock --cache\nmodel = DecisionTreeClassifier(max_depth=3, random_state=0).fit(df[['x']], df['y'])"]
INFER = ["%load_ext notelock", "import pandas as pd",
         "%%lock\n%lock use ../train/train.lock.json model",
         "%%lock\nnew = pd.read_csv('new.csv')\npred = model.predict(new[['x']])"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    (tmp_path / "train").mkdir()
    (tmp_path / "infer").mkdir()
    write_data(tmp_path / "train" / "data.csv")
    write_data(tmp_path / "infer" / "new.csv", seed=5)
    write_notebook(tmp_path / "train" / "train.ipynb", TRAIN)
    write_notebook(tmp_path / "infer" / "infer.ipynb", INFER)
    return tmp_path


def imports(lock: dict) -> dict:
    return {nid: n for nid, n in lock["nodes"].items() if n["op"] == "import"}


def test_compose_then_retrain_and_diff_names_the_import(projects, capsys):
    train, infer = projects / "train" / "train.ipynb", projects / "infer" / "infer.ipynb"
    assert run(capsys, "lock", str(train))[0] == 0
    assert run(capsys, "lock", str(infer))[0] == 0
    t1, i1 = load_lock(projects / "train" / "train.lock.json"), load_lock(projects / "infer" / "infer.lock.json")
    [(imp_id, imp)] = imports(i1).items()
    fit = next(nid for nid, n in t1["nodes"].items() if n["op"] == "fit")
    assert imp["source"] == t1["identity"] and imp["node"] == fit and imp["name"] == "model"
    assert imp["content"] == t1["nodes"][fit]["output"]
    predict = next(n for n in i1["nodes"].values() if n["op"] == "predict")
    assert imp_id in predict["inputs"], "the prediction's edge goes to the imported model"
    # the importing lock pins its own copy: pack and check see it
    assert (projects / "infer" / ".notelock" / "objects" / imp["snapshot"][9:11] / imp["snapshot"][11:]).is_file()
    assert run(capsys, "check", str(projects / "infer" / "infer.lock.json"))[0] == 0
    assert run(capsys, "replay", str(projects / "infer" / "infer.lock.json"))[0] == 0
    shutil.copy(projects / "infer" / "infer.lock.json", projects / "first.lock.json")

    write_notebook(train, [c.replace("max_depth=3", "max_depth=5") for c in TRAIN])
    assert run(capsys, "lock", str(train))[0] == 0
    code, out, _ = run(capsys, "status", str(infer))
    assert code == 1 and "model is imported from ../train/train.lock.json, which changed since" in out
    assert run(capsys, "lock", str(infer))[0] == 0
    i2 = load_lock(projects / "infer" / "infer.lock.json")
    assert i2["identity"] != i1["identity"]
    code, out, _ = run(capsys, "diff", str(projects / "first.lock.json"), str(projects / "infer" / "infer.lock.json"),
                       "--json")
    assert code == 1
    diff = json.loads(out)["diff"]
    [(new_imp, _)] = imports(i2).items()
    assert diff["root_causes"] == [new_imp]
    ops = {i2["nodes"][n]["op"] for n in diff["consequences"]}
    assert "predict" in ops
    root = next(e for e in diff["nodes"] if e["b"] == new_imp)
    assert any("imported model changed" in r for r in root["reasons"])


def test_import_verifies_and_refuses_clearly(projects, capsys):
    assert run(capsys, "lock", str(projects / "train" / "train.ipynb"))[0] == 0
    assert run(capsys, "lock", str(projects / "infer" / "infer.ipynb"))[0] == 0
    # the training store loses the pinned model: the import is refused, naming it
    store = projects / "train" / ".notelock"
    t = load_lock(projects / "train" / "train.lock.json")
    cell = next(n for n in t["nodes"].values() if n["op"] == "cell" and "model" in n.get("writes", {}))
    for entry in (store / "cache").glob(cell["key"][9:] + "*.json"):
        entry.unlink()
    code, _, err = run(capsys, "replay", str(projects / "infer" / "infer.lock.json"))
    assert code == 2 and "cannot replay the import of model from ../train/train.lock.json" in err
    assert "not pinned in its store" in err and err.count("\n") == 1
    shutil.rmtree(projects / "train")
    code, _, err = run(capsys, "replay", str(projects / "infer" / "infer.lock.json"))
    assert code == 2 and "no such lock file" in err


def test_the_imported_value_is_the_trained_one(projects, capsys):
    """The object bound is the training run's own, by content hash."""
    assert run(capsys, "lock", str(projects / "train" / "train.ipynb"))[0] == 0
    from notelock.core.compose import find_import

    imported = find_import("../train/train.lock.json", "model", projects / "infer")
    t = load_lock(projects / "train" / "train.lock.json")
    fit = next(n for n in t["nodes"].values() if n["op"] == "fit")
    assert hash_value(imported.value).digest == fit["output"] == imported.fields["content"]
    assert imported.value.get_params()["max_depth"] == 3


def test_a_pack_as_the_source(projects, capsys):
    """Training ships a pack (with its cache); inference imports from the pack."""
    train = projects / "train" / "train.ipynb"
    assert run(capsys, "lock", str(train))[0] == 0
    assert run(capsys, "pack", str(train), "-o", str(projects / "train.nlpack"), "--with-cache")[0] == 0
    shutil.rmtree(projects / "train")  # only the pack is left
    write_notebook(projects / "infer" / "infer.ipynb",
                   [c.replace("../train/train.lock.json", "../train.nlpack") for c in INFER])
    code, _, err = run(capsys, "lock", str(projects / "infer" / "infer.ipynb"))
    assert code == 0, err
    [imp] = imports(load_lock(projects / "infer" / "infer.lock.json")).values()
    assert imp["lock"] == "../train.nlpack"
    assert run(capsys, "status", str(projects / "infer" / "infer.ipynb"))[0] == 0
    assert run(capsys, "replay", str(projects / "infer" / "infer.lock.json"))[0] == 0
