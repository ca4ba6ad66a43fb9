"""One replay through the real ``notelock replay --events`` command."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from rest_helpers import body

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("notelock.cli") is None
        or importlib.util.find_spec("notelock.cli.replay") is None,
        reason="the notelock CLI has no replay command in this version",
    ),
]


@pytest.fixture
def replay_command():
    import sys

    return [sys.executable, "-m", "notelock", "replay"]


@pytest.fixture
def executed_example(jp_root_dir: Path, example_notebook: Path, monkeypatch) -> Path:
    import shutil

    from kernel_utils import run_notebook  # type: ignore[import-not-found]

    monkeypatch.setenv("FRAUD_ROWS", "2000")
    nb = jp_root_dir / example_notebook.name
    shutil.copy(example_notebook, nb)
    run_notebook(nb, env={"FRAUD_ROWS": "2000"})
    assert nb.with_name("fraud_detection.lock.json").is_file()
    return nb


async def test_the_real_replay_command_reproduces_the_example(jp_fetch, executed_example, notelock_jobs):
    import asyncio

    response = await jp_fetch(
        "notelock", "replay", method="POST", body=json.dumps({"path": "fraud_detection.lock.json"})
    )
    job_id = body(response)["id"]
    events = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 300
    while loop.time() < deadline:
        job = body(await jp_fetch("notelock", "replay", job_id, params={"after": events, "wait": 10},
                                  request_timeout=60))
        if job["status"] != "running":
            break
        events = job["events"]
    assert job["status"] == "done", job
    assert job["result"] == "reproduced", job
    ops = {v["op"] for v in job["verdicts"]}
    assert {"read", "fit", "predict"} <= ops
    assert job["progress"]["done"] == job["progress"]["total"]
    assert os.path.isfile(executed_example.with_name("fraud_detection.lock.json"))
