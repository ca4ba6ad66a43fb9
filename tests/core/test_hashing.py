"""Hashing of bytes, files, JSON, Python values, code; fallbacks and import hygiene."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import functools
import os
import pathlib
import random
import socket
import subprocess
import sys
import textwrap
import threading
from collections import OrderedDict, namedtuple
from dataclasses import dataclass

import pytest
import xxhash

from notelock.core.canonical import dumps_compact
from notelock.core.hashing import (
    PREFIX,
    HashResult,
    code_hash,
    function_code_hash,
    hash_bytes,
    hash_file,
    hash_json,
    hash_value,
    value_hash,
)

HEX = "0123456789abcdef"


def is_digest(s: str) -> bool:
    return s.startswith(PREFIX) and len(s) == len(PREFIX) + 32 and all(c in HEX for c in s[len(PREFIX) :])


# -- bytes, files, JSON -----------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"abc", bytes(range(256)) * 1000])
def test_hash_bytes_is_plain_xxh3_128(data):
    expected = PREFIX + xxhash.xxh3_128_hexdigest(data)
    assert hash_bytes(data) == expected
    assert hash_bytes(bytearray(data)) == expected
    assert hash_bytes(memoryview(data)) == expected


def test_hash_bytes_strided_memoryview():
    data = bytes(range(100))
    view = memoryview(data)[::2]
    assert hash_bytes(view) == PREFIX + xxhash.xxh3_128_hexdigest(view.tobytes())


def test_hash_file_streams_bigger_than_chunk(tmp_path):
    # 3.5 chunks of an odd size: several full reads and a short final one.
    chunk = 4099
    data = random.Random(1).randbytes(chunk * 3 + chunk // 2)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    expected = PREFIX + xxhash.xxh3_128_hexdigest(data)
    assert hash_file(path, chunk_size=chunk) == expected
    assert hash_file(str(path)) == expected
    assert hash_file(path, chunk_size=1) == expected


def test_hash_file_large_default_chunk(tmp_path):
    data = os.urandom((1 << 20) * 3 + 12345)  # bigger than the internal read piece
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert hash_file(path) == hash_bytes(data)


def test_hash_file_empty_and_missing(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hash_file(empty) == hash_bytes(b"")
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "nope")
    with pytest.raises(ValueError):
        hash_file(empty, chunk_size=0)


def test_hash_json_is_canonical():
    a = {"b": [1, 2.5, None], "a": {"y": True, "x": "é"}}
    b = {"a": {"x": "é", "y": True}, "b": [1, 2.5, None]}
    assert hash_json(a) == hash_json(b)
    assert hash_json(a) == hash_bytes(dumps_compact(a).encode("utf-8"))
    assert hash_json({"a": 1}) != hash_json({"a": 1.5})


# -- hash_value: framing and Python values ------------------------------------------


def test_hash_result_shape():
    result = hash_value([1, 2])
    assert isinstance(result, HashResult)
    assert is_digest(result.digest) and not result.opaque and result.reason is None
    assert value_hash([1, 2]) == result.digest
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        result.digest = "x"  # frozen


@pytest.mark.parametrize(
    "left, right",
    [
        (["a-b", "c"], ["a", "b-c"]),
        (["ab", "c"], ["a", "bc"]),
        ([1, "1"], ["1", 1]),
        (1, 1.0),
        (1, True),
        (1.0, True),
        (0, False),
        (0.0, -0.0),
        (1.0, 1.0000000000000002),  # one ulp
        ("1", b"1"),
        (b"1", bytearray(b"1")),
        ((1, 2), [1, 2]),  # documented: tuples and lists differ
        ([[1], 2], [1, [2]]),
        ([], [[]]),
        ({"a": 1}, {"a": "1"}),
        ({1: 2}, {2: 1}),
        ({"a": None}, {}),
        ({1, 2}, frozenset({1, 2})),
        ({1, 2}, [1, 2]),
        (None, "None"),
        ("", None),
        (2**64, 2**64 + 1),
        (2**63, -(2**63)),
        (1 + 2j, 2 + 1j),
        (range(5), range(1, 5)),
        (slice(1, 2), slice(1, 3)),
        (decimal.Decimal("1.0"), decimal.Decimal("1.00")),
        (fractions.Fraction(1, 3), fractions.Fraction(2, 3)),
        (dt.date(2020, 1, 1), dt.date(2020, 1, 2)),
        (dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)),
        (dt.timedelta(seconds=1), dt.timedelta(microseconds=1)),
        (dt.time(1, 2), dt.time(1, 3)),
        (pathlib.PurePosixPath("a/b"), pathlib.PurePosixPath("a/c")),
        (pathlib.PurePosixPath("a/b"), "a/b"),
    ],
)
def test_hash_value_distinguishes(left, right):
    assert value_hash(left) != value_hash(right)


@pytest.mark.parametrize(
    "make",
    [
        lambda: {"a": 1, "b": [1, 2, {"c": (3, 4)}]},
        lambda: {3: "x", "y": 2.5, (1, 2): None},
        lambda: {1, 2, 3, "x"},
        lambda: frozenset({("a", 1), ("b", 2)}),
        lambda: 10**40,
        lambda: -(10**40),
        lambda: "ünïcödé \ud800",  # a lone surrogate does not raise
        lambda: dt.datetime(2020, 1, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        lambda: decimal.Decimal("3.14"),
        lambda: [Ellipsis, NotImplemented, None, True],
    ],
)
def test_hash_value_deterministic_and_fresh_objects_equal(make):
    a, b = make(), make()
    assert value_hash(a) == value_hash(b)
    assert not hash_value(a).opaque


def test_dict_and_set_order_independent():
    a = {"x": 1, "y": 2, 3: 4}
    b = {3: 4, "y": 2, "x": 1}
    assert value_hash(a) == value_hash(b)
    assert value_hash({"b": 1, "a": 2}) == value_hash({"a": 2, "b": 1})
    s1, s2 = set(), set()
    for x in ["a", "b", "c", 1, 2]:
        s1.add(x)
    for x in [2, 1, "c", "b", "a"]:
        s2.add(x)
    assert value_hash(s1) == value_hash(s2)


def test_ordered_dict_keeps_order():
    a = OrderedDict([("a", 1), ("b", 2)])
    b = OrderedDict([("b", 2), ("a", 1)])
    assert value_hash(a) != value_hash(b)
    assert value_hash(a) != value_hash({"a": 1, "b": 2})


def test_empty_ranges_and_equal_ranges():
    assert value_hash(range(0)) == value_hash(range(5, 5))
    assert value_hash(range(0, 10, 3)) == value_hash(range(0, 11, 3))
    assert value_hash(range(5, 10)) != value_hash(range(0, 5))


def test_subclasses_carry_their_class():
    Point = namedtuple("Point", "x y")
    assert value_hash(Point(1, 2)) != value_hash((1, 2))
    assert value_hash(Point(1, 2)) == value_hash(Point(1, 2))

    class Color(enum.Enum):
        RED = 1
        BLUE = 2

    assert value_hash(Color.RED) != value_hash(Color.BLUE)
    assert value_hash(Color.RED) != value_hash(1)
    assert not hash_value(Color.RED).opaque


def test_dataclass_by_fields():
    @dataclass
    class Config:
        lr: float
        layers: list

    assert value_hash(Config(0.1, [1, 2])) == value_hash(Config(0.1, [1, 2]))
    assert value_hash(Config(0.1, [1, 2])) != value_hash(Config(0.2, [1, 2]))
    assert not hash_value(Config(0.1, [1])).opaque


def test_cycles_do_not_recurse_forever():
    a = [1]
    a.append(a)
    b = [1]
    b.append(b)
    assert value_hash(a) == value_hash(b)
    c = [2]
    c.append(c)
    assert value_hash(a) != value_hash(c)
    d: dict = {"k": 1}
    d["self"] = d
    assert is_digest(value_hash(d))
    # same object twice (not a cycle) is hashed twice, as equality sees it
    inner = [1, 2]
    assert value_hash([inner, inner]) == value_hash([[1, 2], [1, 2]])


def test_deep_nesting_never_raises():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    result = hash_value(deep)
    assert is_digest(result.digest)


# -- callables and code ---------------------------------------------------------------


def test_functions_by_name_when_importable():
    assert value_hash(os.path.join) == value_hash(os.path.join)
    assert value_hash(os.path.join) != value_hash(os.path.split)
    assert value_hash(len) != value_hash(max)
    assert value_hash(os) != value_hash(sys)
    assert value_hash(textwrap.dedent) == value_hash(textwrap.dedent)
    assert not hash_value(len).opaque and not hash_value(os).opaque


def test_lambdas_and_closures_by_code_and_values():
    f1 = lambda x: x + 1  # noqa: E731
    f2 = lambda x: x + 1  # noqa: E731
    f3 = lambda x: x + 2  # noqa: E731
    assert value_hash(f1) == value_hash(f2)
    assert value_hash(f1) != value_hash(f3)
    two = (lambda x: x * 2, lambda x: x * 3)  # two lambdas on one line
    assert value_hash(two[0]) != value_hash(two[1])

    def make(k):
        def scale(x):
            return x * k

        return scale

    assert value_hash(make(2)) == value_hash(make(2))
    assert value_hash(make(2)) != value_hash(make(3))
    assert not hash_value(make(2)).opaque


def test_partial_and_methods():
    p1 = functools.partial(int, base=2)
    p2 = functools.partial(int, base=16)
    assert value_hash(p1) != value_hash(p2)
    assert value_hash(p1) == value_hash(functools.partial(int, base=2))
    assert value_hash([1].append) != value_hash([2].append)


def test_code_hash_ignores_formatting_and_comments():
    a = "def f(x):\n    # add one\n    return x+1\n"
    b = "def f( x ):\n\n    return (x + 1)   \n"
    c = "def f(x):\n    return x + 2\n"
    d = 'def f(x):\n    "doc"\n    return x + 1\n'
    assert code_hash(a) == code_hash(b)
    assert code_hash(a) != code_hash(c)
    assert code_hash(a) != code_hash(d)  # docstrings are kept
    assert is_digest(code_hash(a))


def test_code_hash_unparsable_source():
    a = "%time x = 1  \ny = (\n"
    b = "%time x = 1\ny = (\n\n"
    assert code_hash(a) == code_hash(b)
    assert code_hash(a) == hash_bytes(b"%time x = 1\ny = (")
    assert code_hash(a) != code_hash("%time x = 2\ny = (\n")


def _module_level(x, y=2):
    return x + y


def test_function_code_hash():
    expected = code_hash(textwrap.dedent(
        "def _module_level(x, y=2):\n    return x + y\n"
    ))
    assert function_code_hash(_module_level) == expected

    def nested(a):
        return a * 2

    assert function_code_hash(nested) == code_hash("def nested(a):\n    return a * 2\n")
    assert function_code_hash(len) is None
    assert is_digest(function_code_hash(lambda: 1))


def test_function_code_hash_without_source():
    namespace: dict = {}
    exec(compile("def g(x):\n    return x * 3\n", "<no-file>", "exec"), namespace)
    exec(compile("def h(x):\n    return x * 4\n", "<no-file>", "exec"), namespace)
    g, h = namespace["g"], namespace["h"]
    assert is_digest(function_code_hash(g))
    assert function_code_hash(g) != function_code_hash(h)
    namespace2: dict = {}
    # same code, different file and line: the code-object hash ignores both
    exec(compile("\n\ndef g(x):\n    return x * 3\n", "<other>", "exec"), namespace2)
    assert function_code_hash(g) == function_code_hash(namespace2["g"])


def test_main_functions_hashed_by_code():
    namespace: dict = {"__name__": "__main__"}
    exec(compile("def f(x):\n    return x + 1\n", "<cell-1>", "exec"), namespace)
    f1 = namespace["f"]
    exec(compile("def f(x):\n    return x + 2\n", "<cell-2>", "exec"), namespace)
    f2 = namespace["f"]
    assert f1.__module__ == "__main__"
    assert value_hash(f1) != value_hash(f2)
    assert not hash_value(f1).opaque

    exec(compile("class C:\n    k = 1\n    def m(self):\n        return 1\n", "<cell-3>", "exec"), namespace)
    c1 = namespace["C"]
    exec(compile("class C:\n    k = 2\n    def m(self):\n        return 1\n", "<cell-4>", "exec"), namespace)
    c2 = namespace["C"]
    assert value_hash(c1) != value_hash(c2)
    assert not hash_value(c1).opaque


# -- fallbacks ------------------------------------------------------------------------


class PlainThing:
    def __init__(self, v):
        self.v = v


def test_plain_objects_are_hashed_by_their_state_without_running_their_code():
    result = hash_value(PlainThing(1))
    assert not result.opaque
    assert value_hash(PlainThing(1)) == result.digest
    assert value_hash(PlainThing(2)) != result.digest


class Hooked:
    """A notebook class whose pickling has side effects."""

    def __init__(self):
        self.calls = 0

    def __getstate__(self):
        self.calls += 1
        return self.__dict__

    def __getattr__(self, name):
        self.calls += 100
        raise AttributeError(name)


def test_notebook_pickling_hooks_are_never_run_to_hash():
    obj = Hooked()
    result = hash_value(obj)
    assert obj.calls == 0
    assert result.opaque and "defines its own pickling in notebook code" in result.reason
    assert hash_value([obj, 1]).opaque


def test_unpicklable_objects_are_opaque_and_never_raise():
    lock = threading.Lock()
    gen = (i for i in range(3))
    sock = socket.socket()
    try:
        for obj in (lock, gen, sock):
            result = hash_value(obj)
            assert result.opaque
            assert result.reason.startswith("unhashable ")
            assert is_digest(result.digest)
        assert "_thread.lock" in hash_value(lock).reason
        assert "generator" in hash_value(gen).reason
    finally:
        sock.close()


def test_opaque_propagates_from_nested_values():
    result = hash_value({"ok": [1, 2], "bad": threading.Lock()})
    assert result.opaque and "unhashable" in result.reason


def test_object_with_broken_reduce_never_raises():
    class Broken:
        def __reduce__(self):
            raise RuntimeError("no")

        def __getstate__(self):
            raise RuntimeError("no")

    result = hash_value(Broken())
    assert result.opaque and is_digest(result.digest)


# -- import hygiene -------------------------------------------------------------------


def test_no_heavy_imports(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"hello")
    code = textwrap.dedent(
        f"""
        import sys
        from notelock.core.hashing import hash_file, hash_bytes, hash_value, code_hash
        hash_file({str(tmp_path / "f.bin")!r}); hash_bytes(b"x")
        hash_value([1, "a", {{"b": 2.0}}, object()]); code_hash("x = 1")
        heavy = [m for m in ("numpy", "pandas", "pyarrow", "sklearn", "IPython", "jupyter_server",
                             "tornado", "nbconvert", "traitlets") if m in sys.modules]
        print(",".join(heavy))
        """
    )
    env = dict(os.environ)
    src = str(pathlib.Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == ""


# -- property-style: random nested values -----------------------------------------------


def _random_value(rng: random.Random, depth: int = 0):
    kinds = ["int", "float", "str", "bytes", "none", "bool"]
    if depth < 3:
        kinds += ["list", "tuple", "dict", "set"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.randint(-(2**70), 2**70)
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "str":
        return "".join(rng.choice("ab-,\"'é") for _ in range(rng.randint(0, 4)))
    if kind == "bytes":
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 4)))
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "tuple":
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4)))
    if kind == "dict":
        return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return {_random_key(rng) for _ in range(rng.randint(0, 4))}


def _random_key(rng: random.Random):
    return rng.choice([rng.randint(-5, 5), "".join(rng.choice("abc") for _ in range(2)), (1, "x")])


def _canon(v):
    """A reference canonical form: equal iff the values are equal with types taken into account."""
    if isinstance(v, dict):
        return ("dict", sorted((repr(_canon(k)), _canon(x)) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return ("set", sorted(repr(_canon(x)) for x in v))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_canon(x) for x in v])
    return (type(v).__name__, repr(v))


def test_random_values_hash_equal_iff_canonically_equal():
    rng = random.Random(12345)
    values = [_random_value(rng) for _ in range(400)]
    seen: dict[str, object] = {}
    for v in values:
        digest = value_hash(v)
        assert digest == value_hash(v)
        canon = repr(_canon(v))
        if digest in seen:
            assert seen[digest] == canon
        seen[digest] = canon
    # and distinct canonical forms never share a digest
    by_canon: dict[str, str] = {}
    for v in values:
        canon = repr(_canon(v))
        digest = value_hash(v)
        assert by_canon.setdefault(canon, digest) == digest
