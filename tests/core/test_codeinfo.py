"""Static facts about cells: names read and bound, notebook dependencies."""

from __future__ import annotations

from notelock.core.codeinfo import analyze, notebook_dependencies


def test_reads_and_writes_at_top_level():
    facts = analyze("df = pd.read_csv(path)\nmodel.fit(df[features], df.y)")
    assert set(facts.reads) == {"pd", "path", "model", "features"}
    assert facts.writes == ("df",)


def test_function_bodies_are_late_reads():
    facts = analyze("def f(a):\n    return helper(a) + offset\nresult = [x * k for x in values]")
    assert set(facts.reads) == {"values", "k"}
    assert set(facts.late_reads) == {"helper", "offset"}
    assert set(facts.writes) == {"f", "result"}


def test_augmented_assignment_reads_the_name():
    assert "total" in analyze("total += 1").reads


def test_imports_and_globals_are_writes():
    facts = analyze("import numpy as np\nfrom os import path\ndef g():\n    global G\n    G = 1")
    assert {"np", "path", "g", "G"} <= set(facts.writes)


def test_unparsable_code_gives_empty_facts():
    facts = analyze("def broken(:\n")
    assert not facts.parsed and facts.reads == () and facts.writes == ()


def test_notebook_dependencies_are_transitive():
    ns: dict = {"__name__": "__main__"}
    exec(compile("def leaf(x):\n    return x + 1\n"
                 "def middle(x):\n    return leaf(x) * 2\n"
                 "def top(x):\n    return middle(x)\n"
                 "def unrelated():\n    return 0\n", "<nb>", "exec"), ns)
    for name in ("leaf", "middle", "top", "unrelated"):
        ns[name].__module__ = "__main__"
    deps = notebook_dependencies(["top"], ns)
    assert set(deps) == {"top", "middle", "leaf"}


def test_names_bound_before_use_are_not_reads():
    facts = analyze("model = RF(n=3)\nmodel.fit(X, y)\npred = model.predict(X)\ntotal = pred.sum()")
    assert set(facts.reads) == {"RF", "X", "y"}


def test_names_read_before_binding_stay_reads():
    assert "df" in analyze("df = df.dropna()").reads
    assert "df" in analyze("print(df)\ndf = 1").reads
    assert "x" in analyze("if flag:\n    x = 1\nprint(x)").reads
    assert "acc" in analyze("for i in items:\n    acc = i\nprint(acc)").reads
