"""``notelock pack`` / ``unpack``: deterministic archives, verified on the way back."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from portable_helpers import LOCK, NB

from notelock.cli import main
from notelock.core.hashing import hash_bytes
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot_of(folder: Path) -> str:
    lock = load_lock(folder / LOCK)
    return next(n["snapshot"] for n in lock["nodes"].values() if n["op"] == "read")


def data_offset(pack: Path, member: str) -> int:
    """Where *member*'s (compressed) data starts in the zip file."""
    with zipfile.ZipFile(pack) as zf:
        info = zf.getinfo(member)
    with open(pack, "rb") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(fh.read(2), "little"), int.from_bytes(fh.read(2), "little")
    return info.header_offset + 30 + name_len + extra_len


def test_pack_is_deterministic_and_lists_every_member_by_hash(project, capsys, tmp_path):
    code, out, err = run(capsys, "pack", str(project / NB), "-o", str(tmp_path / "a.nlpack"))
    assert code == 0, err
    assert "packed small.lock.json" in out and "1 objects" in out
    assert run(capsys, "pack", str(project / LOCK), "-o", str(tmp_path / "b.nlpack"))[0] == 0
    a, b = (tmp_path / "a.nlpack").read_bytes(), (tmp_path / "b.nlpack").read_bytes()
    assert a == b, "same lock and objects: byte-identical archive"
    with zipfile.ZipFile(tmp_path / "a.nlpack") as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        for entry in manifest["members"]:
            assert hash_bytes(zf.read(entry["name"])) == entry["hash"]
    snapshot = snapshot_of(project)
    roles = {m["name"]: m["role"] for m in manifest["members"]}
    assert roles == {LOCK: "lock", NB: "notebook", "requirements.txt": "environment",
                     f"objects/{snapshot[9:]}": "snapshot"}
    assert manifest["identity"] == load_lock(project / LOCK)["identity"]
    pack_id = hash_bytes(zipfile.ZipFile(tmp_path / "a.nlpack").read("manifest.json"))
    assert pack_id[9:21] in out


def test_pack_refuses_missing_pinned_objects_naming_them(project, capsys, tmp_path):
    snapshot = snapshot_of(project)
    (project / ".notelock" / "objects" / snapshot[9:11] / snapshot[11:]).unlink()
    code, out, err = run(capsys, "pack", str(project / LOCK), "-o", str(tmp_path / "x.nlpack"))
    assert code == 2 and out == ""
    assert f"{snapshot[9:21]} (missing; snapshot of @read_" in err and "data.csv" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.nlpack").exists()
    code, out, _ = run(capsys, "pack", str(project / LOCK), "-o", str(tmp_path / "x.nlpack"), "--no-snapshots")
    assert code == 0 and "left out: snapshots" in out
    with zipfile.ZipFile(tmp_path / "x.nlpack") as zf:
        assert not [n for n in zf.namelist() if n.startswith("objects/")]


def test_with_cache_carries_the_cell_cache(project, capsys, tmp_path):
    assert run(capsys, "pack", str(project / LOCK), "-o", str(tmp_path / "c.nlpack"), "--with-cache")[0] == 0
    with zipfile.ZipFile(tmp_path / "c.nlpack") as zf:
        roles = [m["role"] for m in json.loads(zf.read("manifest.json"))["members"]]
    assert "cache-entry" in roles and "cache-object" in roles
    code, _, err = run(capsys, "unpack", str(tmp_path / "c.nlpack"), "-C", str(tmp_path / "out"))
    assert code == 0, err
    assert list((tmp_path / "out" / ".notelock" / "cache").glob("*.json"))


def test_unpack_verifies_then_writes(project, capsys, tmp_path):
    pack = tmp_path / "run.nlpack"
    assert run(capsys, "pack", str(project / LOCK), "-o", str(pack))[0] == 0
    code, out, _ = run(capsys, "unpack", str(pack), "-C", str(tmp_path / "u"))
    assert code == 0 and "verified" in out
    snapshot = snapshot_of(project)
    assert (tmp_path / "u" / LOCK).read_bytes() == (project / LOCK).read_bytes()
    assert (tmp_path / "u" / ".notelock" / "objects" / snapshot[9:11] / snapshot[11:]).is_file()
    code, out, _ = run(capsys, "check", str(pack))
    assert code == 0 and "pack intact" in out


def test_one_corrupted_byte_is_refused_naming_the_object(project, capsys, tmp_path):
    pack = tmp_path / "run.nlpack"
    assert run(capsys, "pack", str(project / LOCK), "-o", str(pack))[0] == 0
    snapshot = snapshot_of(project)
    data = bytearray(pack.read_bytes())
    data[data_offset(pack, f"objects/{snapshot[9:]}") + 20] ^= 0x01
    pack.write_bytes(bytes(data))
    for verb in (["unpack", str(pack), "-C", str(tmp_path / "u")], ["check", str(pack)]):
        code, _, err = run(capsys, *verb)
        assert code == 2, err
        assert f"object {snapshot[9:21]}" in err and err.count("\n") == 1
    assert not (tmp_path / "u" / LOCK).exists(), "nothing is put in place from a damaged pack"


def test_hostile_packs_are_refused(tmp_path, capsys, project):
    pack = tmp_path / "run.nlpack"
    assert run(capsys, "pack", str(project / LOCK), "-o", str(pack))[0] == 0
    with zipfile.ZipFile(pack) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        members = {n: zf.read(n) for n in zf.namelist() if n != "manifest.json"}

    def rewrite(name: str, manifest: dict, members: dict) -> Path:
        out = tmp_path / name
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("manifest.json", json.dumps(manifest))
            for n, data in members.items():
                zf.writestr(n, data)
        return out

    escape = dict(manifest, members=manifest["members"] + [{"name": "../evil", "role": "notebook", "size": 1,
                                                            "hash": hash_bytes(b"x")}])
    extra = rewrite("extra.nlpack", manifest, dict(members, **{"sneaky.py": b"print(1)"}))
    cases = {rewrite("escape.nlpack", escape, dict(members, **{"../evil": b"x"})): "cannot be unpacked",
             extra: "sneaky.py, which its manifest does not list",
             rewrite("bomb.nlpack", dict(manifest, members=[dict(m, size=m["size"] + 1) if m["role"] == "lock"
                                                            else m for m in manifest["members"]]), members):
             "its manifest says"}
    (tmp_path / "not.nlpack").write_bytes(b"PK\x03\x04 not really")
    cases[tmp_path / "not.nlpack"] = "not a readable pack"
    for path, message in cases.items():
        code, _, err = run(capsys, "unpack", str(path), "-C", str(tmp_path / "target"))
        assert code == 2 and message in err and err.count("\n") == 1, (path.name, err)
    assert not (tmp_path / "evil").exists()


def test_a_pack_replays_where_its_sources_do_not_exist(project, tmp_path, capsys):
    """The small notebook reads data.csv, which no pack holds: the snapshot stands in."""
    import os
    import subprocess
    import sys

    pack = tmp_path / "run.nlpack"
    assert run(capsys, "pack", str(project / LOCK), "-o", str(pack))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NOTELOCK_STORE"}
    proc = subprocess.run([sys.executable, "-m", "notelock", "replay", str(pack), "--json"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    report = json.loads(proc.stdout)
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}
    [read] = [v for v in report["verdicts"] if v["op"] == "read"]
    assert "data.csv: source not available" in read["detail"], read


def test_a_pipe_is_never_opened_as_a_pack(tmp_path, capsys):
    import os

    fifo = tmp_path / "run.nlpack"
    os.mkfifo(fifo)
    for verb in (["unpack", str(fifo), "-C", str(tmp_path / "u")], ["check", str(fifo)]):
        code, _, err = run(capsys, *verb)
        assert code == 2 and "not a regular file" in err


def test_verify_takes_a_pack_too(project, tmp_path, capsys):
    pack = tmp_path / "run.nlpack"
    assert run(capsys, "pack", str(project / LOCK), "-o", str(pack))[0] == 0
    code, out, err = run(capsys, "verify", str(pack), "--runs", "2", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["lock"] == "run.nlpack:small.lock.json" and all(row["holds"] for row in report["nodes"])
