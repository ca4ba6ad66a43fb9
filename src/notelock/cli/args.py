"""Argument types shared by every command (and the server's request checks),
so a bad value is refused the same way everywhere: one line, exit 2."""

from __future__ import annotations

import argparse
import math


def seconds(text: str) -> float:
    """A duration in seconds, > 0 (``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def age(text: str) -> float:
    """A duration in seconds, ≥ 0 (``--min-age``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a number of seconds ≥ 0, got {text}")
    return value


def count(low: int = 1, high: int = 10_000):
    """A whole number in [low, high] (``--runs``, ``--jobs``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    parse.__name__ = "count"
    return parse


__all__ = ["seconds", "age", "count"]
