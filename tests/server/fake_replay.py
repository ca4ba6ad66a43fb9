"""A stand-in for ``notelock replay --events`` used by the REST tests.

Prints the same JSON event lines as the real command. What it reports is read
from ``<lock>.fake.json`` beside the lock file when present, so a test can ask
for a divergence, a slow run or a crash without touching the lock itself.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    lock_path = Path(argv[0])
    assert argv[1:] == ["--events"], argv
    plan_file = lock_path.with_name(lock_path.name + ".fake.json")
    plan = json.loads(plan_file.read_text()) if plan_file.exists() else {}
    if plan.get("crash"):
        print("Traceback (most recent call last): boom", file=sys.stderr)
        return 3
    lock = json.loads(lock_path.read_text())
    nodes = list(lock["nodes"].items())

    def emit(**event):
        print(json.dumps(event), flush=True)

    emit(event="start", nodes=len(nodes), lock=str(lock_path))
    emit(event="message", text="fake replay in " + str(Path.cwd().name))
    verdicts = plan.get("verdicts", {})
    for nid, node in nodes:
        time.sleep(plan.get("sleep", 0))
        verdict = verdicts.get(nid, "reproduced")
        detail = "" if verdict == "reproduced" else "output hash differs"
        emit(event="node", id=nid, op=node["op"], verdict=verdict, detail=detail)
    code = 1 if any(v == "DIVERGED" for v in verdicts.values()) else 0
    emit(event="done", exit_code=code, summary={"nodes": len(nodes), "diverged": sum(v == "DIVERGED" for v in verdicts.values())})
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
