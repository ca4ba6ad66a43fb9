"""Arbitrary object graphs are hashed in bounded time: shared sub-objects once,
and graphs too big to walk flagged instead of stalling a cell."""

from __future__ import annotations

import time

from notelock.core.hashing import hash_value


class Node:
    """A plain object: hashed through its attributes."""

    def __init__(self, kids):
        self.kids = kids


def _dag(depth: int) -> Node:
    node = Node([])
    for _ in range(depth):
        node = Node([node, node])  # 2**depth paths, depth + 1 objects
    return node


def test_shared_subobjects_are_hashed_once():
    start = time.perf_counter()
    first = hash_value(_dag(64))
    assert time.perf_counter() - start < 2.0
    assert not first.opaque
    assert hash_value(_dag(64)).digest == first.digest
    assert hash_value(_dag(63)).digest != first.digest


def test_sharing_does_not_change_the_hash():
    leaf = Node([1, 2])
    shared = Node([leaf, leaf])
    copies = Node([Node([1, 2]), Node([1, 2])])
    assert hash_value(shared).digest == hash_value(copies).digest


def test_huge_graphs_are_flagged_not_walked():
    big = Node([Node([i]) for i in range(60_000)])
    start = time.perf_counter()
    result = hash_value(big)
    assert time.perf_counter() - start < 10.0
    assert result.opaque and "too large" in result.reason
