"""The acceptance test of packs: the fraud example's lock travels.

The example runs with its reads pinned, is packed, and its whole project
folder (store included) is deleted. The pack is unpacked elsewhere, by a
process with another working directory and another HOME, and replayed:
every node reproduces, the reads served from the pack's snapshots (the
example regenerates other data there, so the snapshots are what make it
pass). One corrupted byte makes the pack unusable, naming the object.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kernel_utils import ROOT, run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
NB = "fraud_detection.ipynb"
LOCK = "fraud_detection.lock.json"


def notelock(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    """The real command line, as another user: another HOME, no FRAUD_ROWS."""
    env = {k: v for k, v in os.environ.items() if k not in ("FRAUD_ROWS", "NOTELOCK_STORE")}
    env.update(HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("travel")
    project, packs, home = base / "project", base / "packs", base / "home-a"
    for folder in (project, packs, home):
        folder.mkdir()
    shutil.copy(ROOT / "notebooks" / NB, project / NB)
    run_notebook(project / NB, env={"FRAUD_ROWS": "3000"})
    lock = load_lock(project / LOCK)
    snapshots = {n["snapshot"] for n in lock["nodes"].values() if n["op"] == "read"}
    assert len(snapshots) == 2
    proc = notelock("pack", str(project / NB), "-o", str(packs / "run.nlpack"), cwd=project, home=home)
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(project)  # the notebook, its data, the lock and the store: all gone
    return {"base": base, "pack": packs / "run.nlpack", "lock": lock, "snapshots": snapshots}


def test_unpacked_elsewhere_it_replays_every_node(packed):
    base = packed["base"]
    cwd, home, target = base / "cwd-b", base / "home-b", base / "unpacked"
    cwd.mkdir()
    home.mkdir()
    proc = notelock("unpack", str(packed["pack"]), "-C", str(target), cwd=cwd, home=home)
    assert proc.returncode == 0, proc.stderr
    proc = notelock("replay", str(target / LOCK), "--json", cwd=cwd, home=home)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    report = json.loads(proc.stdout)
    recorded = packed["lock"]
    assert {v["id"] for v in report["verdicts"]} == set(recorded["nodes"])
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}
    reads = [v for v in report["verdicts"] if v["op"] == "read"]
    assert len(reads) == 2 and all("replayed from snapshot" in v["detail"] for v in reads), reads
    for v in report["verdicts"]:
        assert v["replayed"] == v["recorded"] == recorded["nodes"][v["id"]]["output"]


def test_the_pack_replays_directly(packed):
    base = packed["base"]
    cwd, home = base / "cwd-c", base / "home-c"
    cwd.mkdir()
    home.mkdir()
    proc = notelock("replay", str(packed["pack"]), "--json", cwd=cwd, home=home)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["reproduced"] == len(packed["lock"]["nodes"])
    assert list(cwd.iterdir()) == [], "a pack replays from a temporary folder"


def test_one_corrupted_byte_is_refused_naming_the_object(packed):
    base = packed["base"]
    damaged = base / "damaged.nlpack"
    shutil.copy(packed["pack"], damaged)
    digest = sorted(packed["snapshots"])[0]
    member = f"objects/{digest[9:]}"
    with zipfile.ZipFile(damaged) as zf:
        info = zf.getinfo(member)
    with open(damaged, "r+b") as fh:
        fh.seek(info.header_offset + 26)
        skip = int.from_bytes(fh.read(2), "little") + int.from_bytes(fh.read(2), "little")
        at = info.header_offset + 30 + skip + info.compress_size // 2
        fh.seek(at)
        byte = fh.read(1)
        fh.seek(at)
        fh.write(bytes([byte[0] ^ 0x10]))
    for verb in ("replay", "check"):
        proc = notelock(verb, str(damaged), cwd=base, home=base)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"object {digest[9:21]}" in proc.stderr, proc.stderr
        assert proc.stderr.strip().count("\n") == 0
