"""The corpus harness's state check: which variables two more plain runs hash,
and how their hashes are compared."""

from __future__ import annotations

import nbformat
from bench.corpus.harness import state_differences, state_plan


def test_the_plan_names_the_diverged_variables_after_their_notebook_cell() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("intro"),
                                         nbformat.v4.new_code_cell("a = 1", execution_count=1),
                                         nbformat.v4.new_code_cell("grid = fit()", execution_count=2)])
    lock = {"cells": [{"execution_count": 1}, {"execution_count": 2}],
            "nodes": {"@cell_b": {"op": "cell", "cell": 1}, "@fit_x": {"op": "fit", "cell": 1}}}
    replay = {"diverged": [{"id": "@cell_b", "variables": ["grid"]}, {"id": "@fit_x", "variables": []},
                           {"id": "@gone", "variables": ["z"]}]}
    assert state_plan(nb, lock, replay) == {2: ["grid"]}


def test_only_two_answers_that_differ_count_as_a_difference() -> None:
    plan = {2: ["grid", "same", "unbound"], 5: ["failed"]}
    a = {2: {"grid": "h1", "same": "h0"}}
    b = {2: {"grid": "h2", "same": "h0", "unbound": "h3"}, 5: {}}
    differs, unprobed = state_differences(plan, a, b)
    assert differs == [{"cell": 3, "name": "grid"}]
    assert unprobed == [{"cell": 3, "name": "unbound"}, {"cell": 6, "name": "failed"}]
