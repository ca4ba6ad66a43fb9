"""What the differential harness ignores when it compares two runs: the one place.

Two executions of the same notebook are compared cell by cell on what a
person sees: ``text/plain`` results, stdout, stderr, the ``text/plain`` of
displayed data and whether it carries an image, and errors (name and value).
Before comparing, each text goes through :data:`RULES`, in order. Every rule
removes something that differs between two runs of the same computation and
says nothing about its result:

| rule | what it masks | replaced by |
| --- | --- | --- |
| ``carriage-return`` | progress redrawn in place: a line's text before its last ``\\r`` | (dropped) |
| ``progress-bar`` | tqdm-style bars: ``42%|████      | 21/50 [00:01<00:02, 9.8it/s]`` | ``<progress>`` |
| ``timing-line`` | whole lines that report a time: ``Wall time: …``, ``CPU times: …``, ``Elapsed …``, ``Time taken …`` | ``<timing line>`` |
| ``duration`` | a number followed by a unit of time: ``0.53 s``, ``12ms``, ``3.2 seconds``, ``3.07 milliseconds``, ``1.5e-03 sec`` | ``<time>`` |
| ``clock`` | a clock reading ``[00:01<00:02]``, ``00:00:03.25`` | ``<clock>`` |
| ``report-stamp`` | the wall-clock stamp in a report header: ``Date: Tue, 01 Dec 2026``, ``Time: 21:28:27`` (statsmodels summaries); the rest of the line is kept | ``<stamp>`` |
| ``address`` | memory addresses ``0x7f3a2c1b9e80`` (4+ hex digits) | ``0x…`` |
| ``temp-path`` | paths under the temporary folders (``/tmp/…``, ``/var/folders/…``, ``ipykernel_NNN/…``) and the run's own folder | ``<tmp>`` |
| ``pid`` | process ids: ``pid 1234``, ``PID=1234``, ``[1234]`` after a process name | ``pid <pid>`` |

Images are compared by their presence; the plain baseline (two plain runs)
also compares their bytes, as evidence that a notebook is not deterministic.
Nothing else is masked: numbers without a unit of time, object reprs
without an address, warnings, array contents are compared exactly. A rule
that would hide a difference in a result is a bug; ``tests/corpus`` tests
that each rule masks what it should and that a real difference survives.
Lines that start with ``notelock:`` (notelock's own warnings) are taken out
of stderr before the comparison and reported on their own: each is a finding.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    replacement: str
    meaning: str


_UNIT = r"(?:s|sec|secs|second|seconds|ms|msec|msecs|us|µs|μs|ns|(?:milli|micro|nano)seconds?|min|mins|minute|minutes|h|hr|hrs|hour|hours)"
_NUM = r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"

RULES: tuple[Rule, ...] = (
    Rule("progress-bar",
         re.compile(r"^.*?\d{1,3}%\s*\|[^|\n]*\|.*$", re.M),
         "<progress>", "tqdm-style progress bars"),
    Rule("timing-line",
         re.compile(r"^.*\b(?:[Ww]all time|CPU times|[Ee]lapsed(?: time)?|[Tt]ime elapsed|[Tt]ime taken)\b.*$",
                    re.M),
         "<timing line>", "lines that report a measured time"),
    Rule("duration",
         re.compile(_NUM + r"\s?" + _UNIT + r"(?![\w])"),
         "<time>", "a number followed by a unit of time"),
    Rule("clock",
         re.compile(r"\[\d{1,2}:\d{2}(?::\d{2})?(?:<\d{1,2}:\d{2}(?::\d{2})?)?(?:,[^\]]*)?\]|"
                    r"(?<![\d:])\d{1,2}:\d{2}:\d{2}\.\d+"),
         "<clock>", "clock readings"),
    Rule("report-stamp",
         re.compile(r"(?<=\b(?:Date|Time):)(\s+)(?:\d{2}:\d{2}:\d{2}|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4})"),
         r"\1<stamp>", "the date and time a report was printed"),
    Rule("address",
         re.compile(r"0x[0-9a-fA-F]{4,}"),
         "0x…", "memory addresses"),
    Rule("temp-path",
         re.compile(r"(?:/private)?/(?:tmp|var/tmp|var/folders)/[^\s'\"()\[\]{}<>,:]+|"
                    r"ipykernel_\d+/\d+\.py"),
         "<tmp>", "temporary paths"),
    Rule("pid",
         re.compile(r"\b(?:pid|PID|process id)\s*[=:]?\s*\d+|(?<=\w)\[\d{2,7}\](?=:)"),
         "pid <pid>", "process ids"),
)


def _carriage_returns(text: str) -> str:
    """Keep what a terminal would show: the text after a line's last ``\\r``."""
    if "\r" not in text:
        return text
    out = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        out.append(line)
    return "\n".join(out)


def mask(text: str, roots: Iterable[str] = ()) -> str:
    """*text* with every rule applied; *roots* (the run's own folders) become ``<tmp>``."""
    if not text:
        return text
    text = _carriage_returns(text)
    for root in sorted((r for r in roots if r), key=len, reverse=True):
        text = text.replace(root, "<tmp>")
    for rule in RULES:
        text = rule.pattern.sub(rule.replacement, text)
    return text


def split_notelock_lines(text: str) -> tuple[str, list[str]]:
    """(*text* without its ``notelock:`` lines, those lines)."""
    if "notelock:" not in text:
        return text, []
    keep, found = [], []
    for line in text.splitlines(keepends=True):
        (found if line.lstrip().startswith("notelock:") else keep).append(line)
    return "".join(keep), [ln.rstrip("\n") for ln in found]


# ---------------------------------------------------------------- a cell's visible outputs


def cell_view(cell: Any, roots: Iterable[str] = ()) -> dict[str, Any]:
    """What a person sees of one executed code cell, masked: ``stdout``,
    ``stderr`` (without ``notelock:`` lines), ``results`` (execute_result and
    display_data, each ``{"kind", "text", "image"}``), ``error`` (``[ename,
    evalue]`` or None); ``notelock`` holds the ``notelock:`` lines."""
    roots = list(roots)
    stdout: list[str] = []
    stderr: list[str] = []
    results: list[dict[str, Any]] = []
    error = None
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            (stdout if out.get("name") == "stdout" else stderr).append(text)
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            plain = data.get("text/plain", "")
            plain = "".join(plain) if isinstance(plain, list) else plain
            images = [k for k in sorted(data) if k.startswith("image/")]
            digest = None
            if images:
                h = hashlib.sha256()
                for k in images:
                    v = data[k]
                    h.update(("".join(v) if isinstance(v, list) else str(v)).encode())
                digest = h.hexdigest()[:16]
            results.append({"kind": kind, "text": mask(plain, roots), "image": bool(images), "image_digest": digest})
        elif kind == "error":
            error = [out.get("ename", ""), mask(out.get("evalue", ""), roots)]
    err_text, notelock_lines = split_notelock_lines("".join(stderr))
    return {"stdout": mask("".join(stdout), roots), "stderr": mask(err_text, roots), "results": results,
            "error": error, "notelock": notelock_lines}


def compare_views(a: dict[str, Any], b: dict[str, Any], *, image_content: bool = False) -> list[dict[str, Any]]:
    """The differences between two :func:`cell_view` results: a list of
    ``{"what", "a", "b"}`` (first differing line for texts). Images count by
    their presence; with *image_content* also by their bytes (the plain
    baseline uses that: a figure drawn from different numbers is evidence
    that the notebook is not deterministic)."""
    diffs: list[dict[str, Any]] = []
    for key in ("stdout", "stderr"):
        if a[key] != b[key]:
            diffs.append({"what": key, **_first_difference(a[key], b[key])})
    ra, rb = a["results"], b["results"]
    if len(ra) != len(rb):
        diffs.append({"what": "outputs", "a": f"{len(ra)} outputs ({_kinds(ra)})",
                      "b": f"{len(rb)} outputs ({_kinds(rb)})"})
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x["kind"] != y["kind"]:
            diffs.append({"what": f"output {i + 1} kind", "a": x["kind"], "b": y["kind"]})
        if x["text"] != y["text"]:
            diffs.append({"what": f"output {i + 1} text/plain", **_first_difference(x["text"], y["text"])})
        if x["image"] != y["image"]:
            diffs.append({"what": f"output {i + 1} image", "a": x["image"], "b": y["image"]})
        elif image_content and x.get("image_digest") != y.get("image_digest"):
            diffs.append({"what": f"output {i + 1} image content", "a": x.get("image_digest"), "b": y.get("image_digest")})
    if a["error"] != b["error"]:
        diffs.append({"what": "error", "a": _error_text(a["error"]), "b": _error_text(b["error"])})
    return diffs


def _kinds(results: list[dict[str, Any]]) -> str:
    return ", ".join(r["kind"] + (" image" if r["image"] else "") for r in results) or "none"


def _error_text(err: list[str] | None) -> str:
    return "no error" if err is None else f"{err[0]}: {err[1]}"[:300]


def _first_difference(a: str, b: str) -> dict[str, str]:
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<missing>"
        y = lb[i] if i < len(lb) else "<missing>"
        if x != y:
            return {"line": i + 1, "a": x[:300], "b": y[:300]}
    return {"line": 0, "a": a[-300:], "b": b[-300:]}


__all__ = ["RULES", "Rule", "mask", "split_notelock_lines", "cell_view", "compare_views"]
