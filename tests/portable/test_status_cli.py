"""``notelock status`` and ``notelock lock`` skipping current locks: no kernel for the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from portable_helpers import NB, write_data, write_notebook

from notelock.cli import main
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def status(capsys, *args: str) -> tuple[int, dict | list]:
    code = main(["status", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    """A notebook without notelock of its own, built headless (every cell locked)."""
    write_data(tmp_path / "data.csv")
    nb = write_notebook(tmp_path / "plain.ipynb", ["import pandas as pd", "df = pd.read_csv('data.csv')",
                                                   "total = float(df['x'].sum())"])
    assert main(["lock", str(nb)]) == 0
    return nb


def test_current_then_lock_skips_it_then_force_runs_it(plain, capsys):
    capsys.readouterr()
    code, report = status(capsys, str(plain))
    assert code == 0 and report["state"] == "current", report
    assert report["checked"] == ["notebook unchanged", "1 read source unchanged", "environment unchanged"]
    lock = plain.with_name("plain.lock.json")
    before = lock.read_bytes()
    assert main(["lock", str(plain)]) == 0
    out, err = capsys.readouterr()
    assert "plain.ipynb: lock is current, not run again (--force to run it anyway)" in err
    assert " current " in out.splitlines()[1] and out.splitlines()[-1] == "1 of 1 built (1 current, not run again)"
    assert lock.read_bytes() == before
    assert main(["lock", str(plain), "--force"]) == 0
    assert "not run again" not in capsys.readouterr().err
    assert load_lock(lock)["run"]["started"] != json.loads(before)["run"]["started"]


def test_a_changed_input_is_stale_and_lock_runs_it(plain, capsys):
    write_data(plain.with_name("data.csv"), seed=1)
    capsys.readouterr()
    code, report = status(capsys, str(plain))
    assert code == 1 and report["state"] == "stale"
    [reason] = report["stale"]
    assert reason.startswith("data.csv changed since it was read by @read_")
    assert main(["status", str(plain)]) == 1
    assert capsys.readouterr().out.startswith(f"{plain}: stale: data.csv changed")
    assert main(["lock", str(plain)]) == 0
    assert "plain.ipynb: running: lock stale (data.csv changed" in capsys.readouterr().err
    assert status(capsys, str(plain))[0] == 0


def test_a_changed_notebook_and_a_changed_environment_are_stale(plain, capsys):
    lock_path = plain.with_name("plain.lock.json")
    data = json.loads(lock_path.read_text())
    data["environment"]["packages"]["pandas"] = "0.0.1"  # outside every identity: the lock still validates
    lock_path.write_text(json.dumps(data))
    write_notebook(plain, ["import pandas as pd", "df = pd.read_csv('data.csv')", "total = float(df['x'].max())"])
    capsys.readouterr()
    code, report = status(capsys, str(plain))
    assert code == 1
    assert report["stale"][0].startswith("the notebook changed (checksum ")
    assert report["stale"][1].startswith("the environment changed: pandas 0.0.1 → ")


def test_unlocked_imports_are_fine_but_an_unlocked_read_of_the_environment_is_not(built, tmp_path, capsys):
    # the small notebook: %load_ext, unlocked imports, a locked read, a locked fit
    code, report = status(capsys, str(built / NB))
    assert code == 0 and report["state"] == "current", report
    write_data(tmp_path / "data.csv")
    nb = write_notebook(tmp_path / "env.ipynb", [
        "%load_ext notelock", "import os\nimport pandas as pd",
        "def rows():\n    return int(os.environ.get('ROWS', '5'))",  # a definition reads nothing yet
        "n = rows()", "%%lock\ndf = pd.read_csv('data.csv').head(n)"])
    from kernel_utils import run_notebook

    run_notebook(nb, save=False)
    code, report = status(capsys, str(nb))
    assert code == 1 and report["state"] == "cannot tell" and report["stale"] == []
    assert report["cannot_tell"] == ["unlocked cell In [4] calls rows(), and could read inputs the lock does not "
                                     "record"]


def test_a_locked_cell_reading_outside_the_recorder_cannot_tell(tmp_path, capsys):
    (tmp_path / "cfg.json").write_text('{"k": 3}')
    nb = write_notebook(tmp_path / "cfg.ipynb", ["import json", "k = json.load(open('cfg.json'))['k']"])
    assert main(["lock", str(nb)]) == 0
    capsys.readouterr()
    code, report = status(capsys, str(nb))
    assert code == 1 and report["state"] == "cannot tell"
    assert "locked cell In [2] calls json.load(), which the lock does not record" in report["cannot_tell"][0]


def test_no_lock_is_stale_and_no_notebook_is_bad_usage(tmp_path, capsys):
    nb = write_notebook(tmp_path / "new.ipynb", ["x = 1"])
    code, report = status(capsys, str(nb))
    assert code == 1 and report["stale"] == ["no lock"]
    assert main(["status", str(tmp_path / "missing.ipynb")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
