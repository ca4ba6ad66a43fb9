"""%%lock --cache in real kernels: restored only when nothing it depends on changed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from kernel_utils import run_notebook
from notelock.core.history import history_versions, resolve_lock_spec
from notelock.core.lockfile import load_lock

pytestmark = pytest.mark.kernel

COUNT = "open('fit_runs.txt', 'a').write('x')\n"


def _cache_fit_cell(notebook: Path) -> None:
    """Put --cache on the example's fit cell, with a counter the test can read,
    and save the predictions after it."""
    nb = nbformat.read(notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "model.fit(" in cell.source:
            cell.source = cell.source.replace("%%lock\n", "%%lock --cache\n" + COUNT, 1)
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell("pd.Series(pred).to_csv('pred.csv')"))
            break
    else:
        raise AssertionError("no fit cell in the example notebook")
    nbformat.write(nb, notebook)


def _fit_runs(folder: Path) -> int:
    path = folder / "fit_runs.txt"
    return len(path.read_text()) if path.exists() else 0


def _fit_output(nb) -> str:
    [cell] = [c for c in nb.cells if c.cell_type == "code" and "model.fit(" in c.source]
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


@pytest.mark.slow
def test_fit_cell_is_restored_until_the_csv_changes_and_again_once_reverted(fraud_dir: Path):
    notebook = fraud_dir / "fraud_detection.ipynb"
    _cache_fit_cell(notebook)
    env = {"FRAUD_ROWS": "3000"}

    run_notebook(notebook, env=env)
    assert _fit_runs(fraud_dir) == 1
    first_pred = (fraud_dir / "pred.csv").read_bytes()
    first_lock = load_lock(fraud_dir / "fraud_detection.lock.json")

    nb = run_notebook(notebook, env=env)
    assert _fit_runs(fraud_dir) == 1, "the fit cell's body ran although its identity was cached"
    assert "restored @cell_" in _fit_output(nb) and "from cache (saved" in _fit_output(nb)
    assert (fraud_dir / "pred.csv").read_bytes() == first_pred
    second_lock = load_lock(fraud_dir / "fraud_detection.lock.json")
    assert second_lock["identity"] == first_lock["identity"]
    assert second_lock["nodes"].keys() == first_lock["nodes"].keys()

    csv = fraud_dir / "transactions.csv"
    original = csv.read_bytes()
    frame = pd.read_csv(csv)
    frame.loc[0, "amount"] = frame.loc[0, "amount"] + 1.0
    frame.to_csv(csv, index=False)
    nb = run_notebook(notebook, env=env)
    assert _fit_runs(fraud_dir) == 2, "the fit cell was served from the cache after the data changed"
    assert "restored" not in _fit_output(nb)
    changed_lock = load_lock(fraud_dir / "fraud_detection.lock.json")
    assert changed_lock["identity"] != first_lock["identity"]

    csv.write_bytes(original)
    nb = run_notebook(notebook, env=env)
    assert _fit_runs(fraud_dir) == 2
    assert "restored @cell_" in _fit_output(nb)
    assert (fraud_dir / "pred.csv").read_bytes() == first_pred
    assert load_lock(fraud_dir / "fraud_detection.lock.json")["identity"] == first_lock["identity"]

    # every earlier run is kept: ~1 is the run on the changed CSV
    versions = history_versions(fraud_dir / "fraud_detection.lock.json")
    assert len(versions) == 3
    previous, name = resolve_lock_spec(str(notebook) + "~1")
    assert name == "fraud_detection.lock.json~1" and previous["identity"] == changed_lock["identity"]


def test_cached_cell_rehashes_the_files_it_read(kernel, tmp_path: Path):
    pd.DataFrame({"a": [1, 2, 3]}).to_csv(tmp_path / "t.csv", index=False)
    cell = ("%%lock --cache\n" + "open('runs.txt', 'a').write('x')\n"
            "total = int(pd.read_csv('t.csv').a.sum())\nprint('summed')\n'done'")
    kernel.ok("import pandas as pd")
    first = kernel.ok(cell)
    second = kernel.ok(cell)
    assert (tmp_path / "runs.txt").read_text() == "x"
    # the restore says so on stderr; what the cell printed is shown again as it was
    assert second["stderr"].startswith("notelock: restored @cell_") and second["stdout"] == first["stdout"] == "summed\n"
    assert [d["text/plain"] for d in second["data"]] == [d["text/plain"] for d in first["data"]] == ["'done'"]
    assert kernel.value("total") == 6

    pd.DataFrame({"a": [1, 2, 4]}).to_csv(tmp_path / "t.csv", index=False)
    third = kernel.ok(cell)
    assert "runs again: t.csv changed" in third["stderr"]
    assert (tmp_path / "runs.txt").read_text() == "xx" and kernel.value("total") == 7
    lock = json.loads((tmp_path / "scratch.lock.json").read_text())
    cells = [c for c in lock["cells"] if c.get("locked")]
    # the same code on other data is another computation: the read inside is a
    # new node, and the cell's identity covers it (its cache key does not)
    assert cells[0]["node"] == cells[1]["node"] != cells[2]["node"]
    assert cells[0]["nodes"] == cells[1]["nodes"] != cells[2]["nodes"]
    keys = {lock["nodes"][c["node"]]["key"] for c in cells}
    assert len(keys) == 1

    # back to the first content: its entry is still there
    pd.DataFrame({"a": [1, 2, 3]}).to_csv(tmp_path / "t.csv", index=False)
    fourth = kernel.ok(cell)
    assert "restored" in fourth["stderr"] and (tmp_path / "runs.txt").read_text() == "xx"
    assert kernel.value("total") == 6

    # a corrupted object is reported by name and the cell runs instead
    from notelock.core.store import Store

    store = Store(tmp_path / ".notelock")
    [entry] = [e for _, _, e in store.iter_entries() if _entry_total(store, e) == 6]
    target = store.object_path(entry["variables"]["total"]["object"])
    target.chmod(0o644)
    target.write_bytes(b"not a pickle")
    fifth = kernel.ok(cell)
    assert "is corrupted" in fifth["stderr"] and entry["variables"]["total"]["object"][9:21] in fifth["stderr"]
    assert (tmp_path / "runs.txt").read_text() == "xxx" and kernel.value("total") == 6


def _entry_total(store, entry) -> int:
    import pickle

    return pickle.loads(store.get_bytes(entry["variables"]["total"]["object"]))


def test_uncacheable_value_is_named_and_the_cell_still_runs(kernel):
    out = kernel.ok("%%lock --cache\nnumbers = [1, 2, 3]\ngen = (n for n in numbers)")
    assert "not cached: variable 'gen'" in out["stderr"]
    assert out["stderr"].count("\n") == 1
    assert kernel.value("sum(gen)") == 6


def test_in_place_changes_to_variables_read_are_restored(kernel_factory, tmp_path: Path):
    setup = "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2]})"
    cell = "%%lock --cache\nframe['b'] = frame.a * 2"
    for expect_restored in (False, True):
        k = kernel_factory()
        k.ok("%load_ext notelock")
        k.ok(setup)
        out = k.ok(cell)
        assert ("restored" in out["stderr"]) is expect_restored
        assert k.value("frame.b.tolist()") == [2, 4]
