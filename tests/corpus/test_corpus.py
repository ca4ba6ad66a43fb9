"""The corpus's fast subset through the differential harness: locked runs must
show exactly what plain runs show, and their locks must replay."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from bench.corpus import build, harness

CI_NAMES = [n["name"] for n in build.load_manifest().select(ci=True)]


def test_manifest_is_a_pinned_corpus() -> None:
    manifest = build.load_manifest()
    assert len(manifest.notebooks) >= 30
    projects = {manifest.sources[n["source"]]["repo"] for n in manifest.notebooks}
    assert len(projects) >= 3, projects
    for sid, src in manifest.sources.items():
        assert src.get("licence"), sid
        if src["kind"] == "sdist":
            assert len(src["sha256"]) == 64 and src["version"][0].isdigit(), sid
        else:
            assert len(src["commit"]) == 40, sid
    # CI builds from the registry alone
    assert CI_NAMES and all(manifest.sources[n["source"]]["kind"] == "sdist" for n in manifest.select(ci=True))


@pytest.fixture(scope="session")
def ci_results(ci_corpus: tuple[Path, list[str]]) -> dict[str, dict]:
    out, names = ci_corpus
    index = build.load_index(out)
    by_name = {n["name"]: n for n in build.load_manifest().notebooks}
    return {name: harness.run_notebook(name, out, index[name], by_name[name], nbconvert=False, timeout=300)
            for name in names}


def _explain(result: dict) -> str:
    return json.dumps({k: result.get(k) for k in ("status", "harness_error", "locked", "differences",
                                                   "notelock_lines", "replay")}, indent=1, default=str)[:6000]


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("name", CI_NAMES)
def test_locked_outputs_equal_plain(ci_results: dict[str, dict], name: str) -> None:
    r = ci_results[name]
    assert r["status"] == "ok", _explain(r)
    assert r["locked"]["ok"], _explain(r)
    real = [d for d in r["differences"] if not d["unstable_in_plain"]]
    assert real == [], _explain(r)


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("name", CI_NAMES)
def test_replay_verdict_matches_the_plain_baseline(ci_results: dict[str, dict], name: str) -> None:
    """Plain runs agree → the lock replays with no DIVERGED node (exit 0);
    plain runs differ → the replay flags it (DIVERGED, or not verified)."""
    r = ci_results[name]
    assert r["replay"] is not None, _explain(r)
    counts = r["replay"]["counts"]
    if r["baseline"]["stable"]:
        assert r["replay"]["exit_code"] == 0, _explain(r)
        assert not any(k.upper().startswith("DIVERGED") for k in counts), _explain(r)
    else:
        assert any(k.upper().startswith("DIVERGED") for k in counts) or counts.get("not verified"), _explain(r)


# ---------------------------------------------------------------- positive controls


@pytest.mark.slow
@pytest.mark.kernel
def test_a_changed_output_is_detected(ci_corpus: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A deliberately different output in one cell of a real executed
    notebook is found, in that cell and nowhere else."""
    out, names = ci_corpus
    entry = build.load_index(out)[names[0]]
    root, nb_path = harness.fresh_copy(out / entry["root"], str(Path(entry["notebook"]).relative_to(entry["root"])),
                                       tmp_path, "run")
    plain = harness.run_plain(nb_path, timeout=300)
    assert plain["ok"], plain["error"]
    changed = copy.deepcopy(plain["nb"])
    target = next(i for i, c in harness.code_cells(changed) if c.outputs)
    out0 = changed.cells[target].outputs[0]
    if out0.output_type == "stream":
        out0.text += "0.1 more\n"
    elif "text/plain" in out0.get("data", {}):
        out0.data["text/plain"] += " changed"
    else:
        changed.cells[target].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="extra\n"))
    diffs = harness.compare_runs(harness.views(plain["nb"], [str(root)]), harness.views(changed, [str(root)]))
    assert list(diffs) == [target], diffs
    assert harness.compare_runs(harness.views(plain["nb"], []), harness.views(plain["nb"], [])) == {}


def _own_notebook(folder: Path, *sources: str) -> Path:
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "control.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.slow
@pytest.mark.kernel
def test_harness_tells_unstable_cells_from_stable_ones(tmp_path: Path) -> None:
    """End to end on a notebook of our own: an unseeded random draw differs
    between plain runs (flagged as the baseline's, not held against notelock),
    a seeded one does not; the lock replays the seeded cell and diverges on
    the unseeded one."""
    path = _own_notebook(tmp_path / "src",
                         "import numpy as np\nrng = np.random.default_rng(0)\nprint(rng.normal(size=3).round(6))",
                         "noise = np.random.default_rng().normal(size=3)\nprint(noise)",
                         "total = float(np.arange(10).sum())\ntotal")
    (tmp_path / "build" / "notebooks").mkdir(parents=True)
    shutil.copytree(path.parent, tmp_path / "build" / "notebooks" / "control")
    entry = {"root": "notebooks/control", "notebook": "notebooks/control/control.ipynb"}
    r = harness.run_notebook("control", tmp_path / "build", entry, nbconvert=False, timeout=120)
    assert r["status"] == "ok", _explain(r)
    assert not r["baseline"]["stable"]
    assert [c["cell"] for c in r["baseline"]["cells"]] == [2]
    assert all(d["unstable_in_plain"] for d in r["differences"]), _explain(r)
    assert r["identical"], _explain(r)
    assert r["replay_verdict"] == "DIVERGED", _explain(r)
