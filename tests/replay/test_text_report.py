"""What `notelock replay` prints: on a terminal one progress bar then one aligned
table; piped, a line per node as before; the summary line says drift."""

from __future__ import annotations

import io

from notelock.headless.replay import ReplayResult, TextReporter

VERDICTS = [
    {"id": "@read_f18b7bd21912", "op": "read", "verdict": "reproduced", "label": "read_csv transactions.csv",
     "detail": "input drifted, replayed from snapshot"},
    {"id": "@fit_81a90cbe52da", "op": "fit", "verdict": "reproduced", "label": "fit RandomForestClassifier"},
    {"id": "@predict_1f560ec59c4a", "op": "predict", "verdict": "reproduced within tolerance",
     "label": "predict RandomForestClassifier"},
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream, summary, mode="pinned", exit_code=0) -> str:
    reporter = TextReporter(stream)
    reporter.start(len(VERDICTS), "fraud.lock.json")
    for v in VERDICTS:
        reporter.node(v)
    reporter.done(ReplayResult(lock="fraud.lock.json", mode=mode, summary=summary, exit_code=exit_code))
    return stream.getvalue()


def test_a_terminal_gets_one_bar_then_an_aligned_table():
    out = _run(Terminal(), {"reproduced": 2, "reproduced_within_tolerance": 1, "drifted": ["@read_f18b7bd21912"]})
    final = out.split("\r")[-1]  # what stays on screen once the bar is gone
    table = [ln for ln in final.splitlines() if ln.startswith("  ")]
    assert [ln.split()[0] for ln in table] == ["reproduced", "reproduced", "reproduced"]
    # the id column starts at the same place on every line
    assert len({ln.index("@") for ln in table}) == 1
    # during the run, no per-node line was printed before the bar closed
    assert out.count("@fit_81a90cbe52da") == 1
    assert "reproduced from snapshots — 1 input changed since the lock: 2 reproduced" in out
    assert "notelock replay fraud.lock.json --against-current" in out


def test_piped_output_keeps_a_line_per_node_and_says_divergence_on_current_data():
    out = _run(io.StringIO(), {"DIVERGED": 1, "drifted": ["@read_f18b7bd21912"]}, mode="current", exit_code=1)
    lines = out.splitlines()
    assert lines[0] == "replaying fraud.lock.json: 3 nodes"
    assert lines[1].startswith("  reproduced                  @read_f18b7bd21912")
    assert lines[-1].startswith("diverged on current data — 1 input changed since the lock:")
    assert "\r" not in out
