"""Two machines share one S3 store: A locks the fraud example with snapshots and
the cell cache; A's folder is deleted; B replays from the lock alone, and B's
run of the notebook restores the cached cell from the shared store.

Each machine has its own HOME (so its own local tier of the store) and its own
working folder; what they share is the bucket, reached over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from s3_utils import SECRET

from kernel_utils import ROOT, outputs_text, run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
NB = "fraud_detection.ipynb"
LOCK = "fraud_detection.lock.json"


def cached_copy(folder: Path) -> Path:
    """The example notebook with its model cell under ``%%lock --cache``."""
    nb = nbformat.read(ROOT / "notebooks" / NB, as_version=4)
    [cell] = [c for c in nb.cells if c.source.startswith("%%lock\nmodel = ")]
    cell.source = cell.source.replace("%%lock\n", "%%lock --cache\n", 1)
    path = folder / NB
    nbformat.write(nb, path)
    return path


def notelock(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=dict(os.environ, **env),
                          capture_output=True, text=True, timeout=600)


def test_b_replays_a_lock_from_the_shared_store_and_restores_its_cached_cell(bucket: str, machines):
    store = f"s3://{bucket}/team"
    a = machines("a", NOTELOCK_STORE=store, FRAUD_ROWS="3000")
    run_notebook(cached_copy(a.work), env=a.env)
    lock_text = (a.work / LOCK).read_text()
    assert SECRET not in lock_text
    lock = load_lock(a.work / LOCK)
    reads = [n for n in lock["nodes"].values() if n["op"] == "read"]
    assert len(reads) == 2 and all(n.get("snapshot") for n in reads)
    [fit] = [n for n in lock["nodes"].values() if n["op"] == "fit"]
    assert not (a.work / ".notelock" / "objects").exists(), "nothing went to a local store beside the notebook"

    # the lock is all B gets (as if committed); A's folder and its local tier are gone
    b = machines("b", NOTELOCK_STORE=store, FRAUD_ROWS="2000")
    shutil.copy(a.work / LOCK, b.work / LOCK)
    shutil.rmtree(a.work.parent)

    # B's own data differs (2000 rows, not 3000): the reads must come from A's snapshots
    proc = notelock("replay", LOCK, "--events", cwd=b.work, env=b.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    nodes = [e for e in events if e["event"] == "node"]
    assert {e["verdict"] for e in nodes} == {"reproduced"}
    assert [e["detail"] for e in nodes if e["op"] == "read"] and all(
        "replayed from snapshot" in e["detail"] for e in nodes if e["op"] == "read")
    tier = b.home / ".cache" / "notelock" / "stores"
    assert list(tier.glob("s3-*/objects/*/*")), "the snapshots were read through B's local tier"
    assert SECRET not in proc.stdout + proc.stderr

    # B runs the notebook itself: the --cache cell is served from the shared store
    b2 = machines("b2", NOTELOCK_STORE=store, FRAUD_ROWS="3000")
    b2.env.update(HOME=str(b.home), XDG_CACHE_HOME=str(b.home / ".cache"))
    nb = run_notebook(cached_copy(b2.work), env=b2.env)
    text = outputs_text(nb)
    assert f"restored {lock['cells'][[c['source'].startswith('%%lock --cache') for c in lock['cells']].index(True)]['node']}" \
        in text, text
    relock = load_lock(b2.work / LOCK)
    [refit] = [n for n in relock["nodes"].values() if n["op"] == "fit"]
    assert refit["output"] == fit["output"]
    assert relock["identity"] == lock["identity"]
