"""``notelock check``: each kind of damage is caught with one line and its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from portable_helpers import LOCK, NB

from notelock.cli import main
from notelock.core.hashing import hash_file

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def node_of(lock: dict, op: str) -> str:
    return next(nid for nid, n in lock["nodes"].items() if n["op"] == op)


def test_a_fresh_lock_passes_every_check(project, capsys):
    code, out, err = check(capsys, str(project / LOCK))
    assert code == 0, out + err
    assert "lock validates" in out and "1 pinned object present and intact" in out
    assert f"{NB} unchanged" in out and "not signed" in out
    assert out.splitlines()[-1] == f"{LOCK}: every check passed" and err == ""


def test_a_node_whose_content_no_longer_matches_its_id(project, capsys):
    lock = json.loads((project / LOCK).read_text())
    fit = node_of(lock, "fit")
    edit(project / LOCK, lambda d: d["nodes"][fit]["params"].update(C=5.0))
    code, out, err = check(capsys, str(project / LOCK))
    assert code == 2
    assert f"node {fit}: its id does not match its content" in out
    assert err.count("\n") == 1 and fit in err


def test_an_edge_to_a_missing_node(project, capsys):
    lock = json.loads((project / LOCK).read_text())
    read = node_of(lock, "read")
    edit(project / LOCK, lambda d: d["nodes"].pop(read))
    code, out, _ = check(capsys, str(project / LOCK))
    assert code == 2
    assert f"edge to {read}, which is not in the lock" in out


def test_a_missing_pinned_object_is_named(project, capsys):
    lock = json.loads((project / LOCK).read_text())
    snapshot = lock["nodes"][node_of(lock, "read")]["snapshot"]
    obj = project / ".notelock" / "objects" / snapshot[9:11] / snapshot[11:]
    obj.unlink()
    code, out, err = check(capsys, str(project / LOCK))
    assert code == 2
    assert f"object {snapshot[9:21]} (snapshot of @read_" in err and "data.csv) is missing" in err


def test_a_corrupted_pinned_object_is_named_and_left_in_place(project, capsys):
    lock = json.loads((project / LOCK).read_text())
    snapshot = lock["nodes"][node_of(lock, "read")]["snapshot"]
    obj = project / ".notelock" / "objects" / snapshot[9:11] / snapshot[11:]
    data = bytearray(obj.read_bytes())
    data[10] ^= 1
    obj.write_bytes(bytes(data))
    code, out, _ = check(capsys, str(project / LOCK))
    assert code == 2 and f"object {snapshot[9:21]}" in out and "is corrupted" in out
    assert obj.is_file() and hash_file(obj) != snapshot, "check only reads the store"


def test_a_changed_notebook_is_a_negative_verdict(project, capsys):
    nb = nbformat.read(project / NB, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("C=0.5", "C=0.7")
    nbformat.write(nb, project / NB)
    code, out, err = check(capsys, str(project / LOCK))
    assert code == 1
    assert f"{NB} changed since the lock was written" in out and "changed since" in err


def test_signature_good_then_bad_after_an_edit(project, capsys, tmp_path):
    key = tmp_path / "signing.pem"
    assert main(["sign", "--generate-key", str(key)]) == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert main(["sign", str(project / LOCK), "--key", str(key)]) == 0
    capsys.readouterr()
    code, out, _ = check(capsys, str(project / LOCK), "--key", f"{key}.pub")
    assert code == 0 and "signature verifies" in out
    # a value outside every identity: the lock still validates, the signature does not
    edit(project / LOCK, lambda d: d["run"].update(started="2020-01-01T00:00:00Z"))
    code, out, err = check(capsys, str(project / LOCK))
    assert code == 1
    assert "BAD signature" in out and err.startswith("notelock: check failed:") and err.count("\n") == 1


def test_a_signature_by_another_key_fails_with_key(project, capsys, tmp_path):
    for name in ("a.pem", "b.pem"):
        assert main(["sign", "--generate-key", str(tmp_path / name)]) == 0
    assert main(["sign", str(project / LOCK), "--key", str(tmp_path / "a.pem")]) == 0
    capsys.readouterr()
    code, out, _ = check(capsys, str(project / LOCK), "--key", str(tmp_path / "b.pem.pub"))
    assert code == 1 and "not by b.pem.pub" in out
    (project / (LOCK + ".sig")).unlink()
    code, out, _ = check(capsys, str(project / LOCK), "--require-signature")
    assert code == 1 and "is not signed" in out


def test_json_report_and_unusable_input(project, capsys):
    code, out, _ = check(capsys, str(project / LOCK), "--json")
    report = json.loads(out)
    assert code == 0 and report["exit_code"] == 0
    assert {f["check"] for f in report["findings"]} == {"validation", "objects", "notebook", "signature"}
    (project / "bad.lock.json").write_text("{not json")
    code, _, err = check(capsys, str(project / "bad.lock.json"))
    assert code == 2 and err.count("\n") == 1 and "not valid JSON" in err
