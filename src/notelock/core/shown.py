"""What a cell shows: its printed and displayed output, as a digest.

A replay compares what a cell shows as well as the values it binds, so a
notebook whose printed metrics change while no recorded variable does (a
score computed inside a helper from an unseeded sample) is not called
reproduced. What is compared is what a reader would compare: standard
output, the ``text/plain`` of results and displays, and rendered images'
bytes — after masking what measures the run rather than the computation.

The masking rules (named in the lock, ``shown.masked``):

* ``address``: memory addresses (``0x7f3a2c1b9e80``);
* ``time``: a number followed by a unit of time (``3.2 s``, ``12ms``,
  ``1.5e-03 sec``, ``3.07 milliseconds``, ``2 minutes``), and a decimal number that closely follows
  a word that speaks of time (``took 3.25``, ``'time': 0.014``, ``elapsed
  12.5``);
* ``clock``: clock readings (``22:40:01``, ``2026-12-01T22:40:01``) and the
  date a report stamps itself with (a ``Date:`` field such as statsmodels'
  ``Date: Tue, 01 Dec 2026``);
* ``progress``: progress-bar lines (``45%|████      |``) and carriage-return
  rewrites (only the last state of a line counts).

Standard error (warnings, logs) is not compared.
"""

from __future__ import annotations

import re
from typing import Any

from .hashing import hash_bytes

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_DURATION = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s?"
                       r"(?:ns|µs|us|ms|s|sec|secs|second|seconds|min|mins|minute|minutes|h|hr|hrs|hour|hours|msec|msecs"
                       r"|(?:milli|micro|nano)seconds?)(?!\w|\.\w)")
#: a decimal number shortly after a word that speaks of time ("took 3.25", "'time': 0.014")
_TIMED_NUMBER = re.compile(r"(?i)\b(elapsed|took|duration|time|times|seconds|runtime|wall)\b([^\d\n]{0,12})"
                           r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?")
_PROGRESS = re.compile(r"\d+%\|")
_CLOCK = re.compile(r"(?:\d{4}-\d{2}-\d{2}[T ])?(?<![\d:])\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d:])")
_STAMP = re.compile(r"(Date:\s+)(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4}")


def mask(text: str) -> tuple[str, list[str]]:
    """*text* with the run's measurements masked, and the rules that applied."""
    applied: list[str] = []
    lines = []
    for line in text.split("\n"):
        if "\r" in line:  # a line rewritten in place: its last state
            line = line.rsplit("\r", 1)[-1]
            applied.append("progress")
        if _PROGRESS.search(line):
            applied.append("progress")
            continue
        masked = _ADDRESS.sub("0x…", line)
        if masked != line:
            applied.append("address")
        clocked = _STAMP.sub(r"\1<date>", _CLOCK.sub("<clock>", masked))
        if clocked != masked:
            applied.append("clock")
            masked = clocked
        timed = _TIMED_NUMBER.sub(r"\1\2<time>", _DURATION.sub("<time>", masked))
        if timed != masked:
            applied.append("time")
        lines.append(timed)
    return "\n".join(lines), sorted(set(applied))


class Shown:
    """Collects what one cell showed, in order."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def stdout(self, text: str) -> None:
        if self.parts and self.parts[-1][0] == "stdout":
            self.parts[-1] = ("stdout", self.parts[-1][1] + text)
        else:
            self.parts.append(("stdout", text))

    def bundle(self, data: dict[str, Any]) -> None:
        """A displayed or returned mime bundle: its text and its image."""
        text = data.get("text/plain")
        if isinstance(text, list):
            text = "".join(text)
        if isinstance(data.get("image/png"), str):
            self.parts.append(("image/png", data["image/png"]))
        elif isinstance(text, str):
            self.parts.append(("text/plain", text))

    def summary(self) -> dict[str, Any] | None:
        """``{"digest", "parts", "masked"}``, or None when the cell showed nothing."""
        if not self.parts:
            return None
        applied: set[str] = set()
        pieces = []
        for kind, value in self.parts:
            if kind != "image/png":
                value, rules = mask(value)
                applied.update(rules)
            pieces.append(f"{kind}\0{len(value)}\0{value}")
        out: dict[str, Any] = {"digest": hash_bytes("\0".join(pieces).encode("utf-8", "surrogatepass")),
                               "parts": [kind for kind, _ in self.parts]}
        if applied:
            out["masked"] = sorted(applied)
        return out


__all__ = ["mask", "Shown"]
