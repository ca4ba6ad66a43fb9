"""What a cell shows is compared after masking what measures the run, and
nothing else: each rule masks its kind of text and leaves real values alone."""

from __future__ import annotations

import pytest

from notelock.core.shown import Shown, mask

MASKED = [
    ("Wall time: 1.23 s", "Wall time: <time>", "time"),
    ("CPU times: user 2.1 s, sys: 3 ms, total: 2.1 s", "CPU times: user <time>, sys: <time>, total: <time>", "time"),
    ("fit in 12ms.", "fit in <time>.", "time"),
    ("Fitting the classifier: 3.07 milliseconds", "Fitting the classifier: <time>", "time"),
    ("each step 12 microseconds, 2 hours in all", "each step <time>, <time> in all", "time"),
    ("took 3.25 to fit", "took <time> to fit", "time"),
    ("{'time': 3.1625, 'correlation': 0.652}", "{'time': <time>, 'correlation': 0.652}", "time"),
    ("<Model at 0x7f3a2c1b9e80>", "<Model at 0x…>", "address"),
    ("Date:                Tue, 01 Dec 2026   Prob (F-statistic):   1.23e-05",
     "Date:                <date>   Prob (F-statistic):   1.23e-05", "clock"),
    ("Time:                        22:40:01   Log-Likelihood:   -12.3",
     "Time:                        <clock>   Log-Likelihood:   -12.3", "clock"),
    (" 45%|████      | 4/9 [00:01<00:02]", "", "progress"),
]

KEPT = ["accuracy 0.9530 on 5,000 rows", "score 0.95 s.d. 0.01", "ratio 3:4:5", "min date 2025-01-01",
        "3 samples", "R-squared: 0.985", "[ 4.60956564  5.09708677]", "best {'C': 100, 'gamma': 0.001}"]


@pytest.mark.parametrize("text,masked,rule", MASKED)
def test_measurements_are_masked(text, masked, rule):
    out, rules = mask(text)
    assert out == masked and rule in rules


@pytest.mark.parametrize("text", KEPT)
def test_real_values_are_kept(text):
    assert mask(text) == (text, [])


def test_a_changed_value_changes_the_digest_a_changed_time_does_not():
    def digest(stdout: str) -> str:
        shown = Shown()
        shown.stdout(stdout)
        return shown.summary()["digest"]

    assert digest("accuracy 0.95\nWall time: 1.2 s") == digest("accuracy 0.95\nWall time: 3.4 s")
    assert digest("accuracy 0.95") != digest("accuracy 0.96")


def test_nothing_shown_is_no_summary():
    assert Shown().summary() is None
