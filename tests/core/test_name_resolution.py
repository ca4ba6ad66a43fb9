"""A cell's reads are decided as Python scopes them.

Two oracles: CPython itself, running generated straight-line snippets with a
namespace that records every name looked up before the snippet bound it
(exactly what hidden state means: a read of the notebook's namespace), and a
table of the constructs whose scoping is easy to get wrong.
"""

from __future__ import annotations

import builtins

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notelock.core.codeinfo import analyze

NAMES = ["a", "b", "c", "d"]


class RecordingNamespace(dict):
    """Module-level names are looked up through ``__getitem__`` when the
    snippet runs with this as its locals: record the first lookups of names
    the snippet had not bound yet."""

    def __init__(self, preset: dict):
        super().__init__()
        self.preset = preset
        self.read_before_bound: set[str] = set()

    def __getitem__(self, key):
        if not dict.__contains__(self, key):
            if key in self.preset:
                self.read_before_bound.add(key)
                return self.preset[key]
            raise KeyError(key)
        return dict.__getitem__(self, key)


def observed_reads(code: str) -> set[str]:
    ns = RecordingNamespace({n: 1 for n in NAMES})
    # comprehension bodies look names up in the globals (a plain dict, not
    # observable): present there too, so that they run
    glob = {"__builtins__": builtins, **{n: 1 for n in NAMES}}
    exec(compile(code, "<cell>", "exec"), glob, ns)  # noqa: S102 - the oracle
    return ns.read_before_bound


name = st.sampled_from(NAMES)
expr = st.one_of(name, st.builds(lambda x, y: f"{x} + {y}", name, name), st.just("1"),
                 st.builds(lambda x: f"[{x} for _i in range(2)]", name))
statement = st.one_of(
    st.builds(lambda t, e: f"{t} = {e}", name, expr),
    st.builds(lambda t, e: f"{t} += {e}", name, expr),
    st.builds(lambda e: f"print({e}, end='')", expr),
    st.builds(lambda f, t, e: f"def f_{f}():\n    {t} = 0\n    {t} += {e}\n    return {t}", name, name, expr),
    st.builds(lambda f, e: f"def g_{f}(x={e}):\n    return x", name, expr),
    st.builds(lambda t, e: f"class K_{t}:\n    {t} = {e}\n    {t} += 1", name, expr),
    st.builds(lambda t, e: f"[({t} := {e}) for _j in range(1)]", name, expr),
    st.builds(lambda t: f"del {t}", name),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(statement, min_size=1, max_size=6))
def test_reads_match_what_python_looks_up(statements):
    code = "\n".join(statements) + "\n"
    try:
        truth = observed_reads(code)
    except Exception:  # noqa: BLE001 - the snippet itself fails (`a += [..]`, a del of an unbound name)
        return
    facts = analyze(code)
    # every name Python read from the namespace before binding it is a read...
    assert truth <= set(facts.reads), code
    if " for _" not in code and "class " not in code:  # (comprehension and class-body lookups go to the globals)
        # ...and every read is one Python made: no refusal on a false read
        assert set(facts.reads) == truth, code


CASES = [
    ("x += 1", {"x"}),
    ("def f():\n    count = 0\n    count += 1\n    return count", set()),
    ("def f(items):\n    results = []\n    results += [1]\n    return results", set()),
    ("def f():\n    global total\n    total += 1", set()),  # a read when f is called, not now
    ("total = 0\ntotal += 1", set()),
    ("class A:\n    x = 1\n    x += 1", set()),
    ("class A:\n    y += 1", {"y"}),
    ("[y := f(v) for v in data]", {"f", "data"}),
    ("@dec\ndef f(a=default):\n    return a", {"dec", "default"}),
    ("with open(p) as fh:\n    text = fh.read()", {"p"}),
    ("try:\n    pass\nexcept KeyError as e:\n    err = str(e)", set()),
    ("match point:\n    case (px, py):\n        s = px + py", {"point"}),
    ("import os\nos.getcwd()", set()),
    ("model = make()\nmodel.fit(X)", {"make", "X"}),
    ("lambda: hidden", set()),
]


@pytest.mark.parametrize("code,reads", CASES)
def test_constructs(code, reads):
    assert set(analyze(code).reads) == reads


def test_late_reads_of_function_bodies():
    facts = analyze("def f():\n    global total\n    total += offset\n    return helper()")
    assert {"total", "offset", "helper"} <= set(facts.late_reads)
    assert "total" in facts.writes
