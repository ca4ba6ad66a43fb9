"""The corpus table: per notebook, the totals against the targets, Markdown for docs/corpus.md."""

from __future__ import annotations

import datetime as dt
import platform
from collections import Counter
from typing import Any

#: the targets the totals are held against
TARGET_OVERHEAD = 1.15
#: a locked build may wait this much longer after its last cell than a plain run before it counts
SHUTDOWN_SLACK_S = 0.5
#: share of recorded values that may be opaque
TARGET_OPAQUE = 0.01

COLUMNS = ("notebook", "runs plain", "locks", "outputs identical", "plain baseline", "replay", "opaque",
           "lock-all overhead")


def _plain(r: dict[str, Any]) -> str:
    if r.get("status") == "harness-error":
        return "harness error"
    p = (r.get("plain") or [{}])[0]
    if p.get("ok"):
        return "yes"
    e = p.get("error") or {}
    return f"no (cell {e.get('cell')}: {e.get('ename')})"


def _locks(r: dict[str, Any]) -> str:
    lk = r.get("locked") or {}
    if not lk:
        return "—"
    if lk.get("ok"):
        return "yes"
    e = lk.get("error") or {}
    where = f"cell {e['cell']}: " if e.get("cell") else ""
    return f"**no** ({where}{e.get('ename')})"


def _identical(r: dict[str, Any]) -> str:
    if "differences" not in r:
        return "—"
    if r.get("status") == "plain-fails":
        return "same exception" if r.get("same_exception") else "**different exception**"
    real = [d for d in r["differences"] if not d.get("unstable_in_plain")]
    if not real:
        after = [d for d in r["differences"] if d.get("after_unstable")]
        if after:
            return f"yes ({len(after)} cell{'s' if len(after) != 1 else ''} after the plain runs diverged: " + \
                ", ".join(str(d["cell"]) for d in after[:5]) + ")"
        return "yes"
    return f"**no** ({len(real)} cell{'s' if len(real) != 1 else ''}: " + ", ".join(str(d["cell"]) for d in real[:5]) + ")"


def _baseline(r: dict[str, Any]) -> str:
    b = r.get("baseline")
    if not b:
        return "—"
    if b["stable"]:
        return "stable"
    if b.get("state_only"):
        names = ", ".join(f"`{d['name']}` after {d['cell']}" for d in b["state"]["differs"][:3])
        return f"same outputs, values differ ({names})"
    cells = b.get("cells", [])
    return f"differs ({len(cells)} cell{'s' if len(cells) != 1 else ''}: " + ", ".join(str(c["cell"]) for c in cells[:5]) + ")"


def _replay(r: dict[str, Any]) -> str:
    rep = r.get("replay")
    if not rep:
        return "—"
    counts = rep.get("counts", {})
    n = rep.get("nodes", 0)
    v = r.get("replay_verdict", "")
    if v == "DIVERGED":
        d = sum(c for k, c in counts.items() if k.upper().startswith("DIVERGED"))
        return f"**DIVERGED** ({d} of {n})"
    if v == "error":
        return f"**error** (exit {rep.get('exit_code')})"
    return f"{v} ({n} nodes)"


def _opaque(r: dict[str, Any]) -> str:
    o = r.get("opaque")
    if not o or not o.get("values"):
        return "—"
    return f"{o['opaque']}/{o['values']} ({100 * o['opaque'] / o['values']:.1f} %)"


def _overhead(r: dict[str, Any]) -> str:
    o = r.get("overhead") or {}
    parts = []
    if o.get("ratio") is not None:
        parts.append(f"{o['ratio']:.2f}× ({o['nbconvert_lockfile_s']:.1f} s / {o['nbconvert_execute_s']:.1f} s)")
    elif o.get("build_s") and o.get("plain_s"):
        parts.append(f"in-process {o['build_s'] / o['plain_s']:.2f}×")
    if o.get("tail_locked_s") is not None and o.get("tail_plain_s") is not None:
        flag = "**" if o["tail_locked_s"] > o["tail_plain_s"] + SHUTDOWN_SLACK_S else ""
        parts.append(f"{flag}shutdown {o['tail_locked_s']:.1f} s vs {o['tail_plain_s']:.1f} s{flag}")
    return "; ".join(parts) or "—"


def row(r: dict[str, Any]) -> list[str]:
    return [r["name"], _plain(r), _locks(r), _identical(r), _baseline(r), _replay(r), _opaque(r), _overhead(r)]


def one_line(r: dict[str, Any]) -> str:
    if r.get("status") == "harness-error":
        return "harness error: " + str(r.get("harness_error"))[:200]
    cells = row(r)[1:]
    return " | ".join(f"{k}: {v}" for k, v in zip(COLUMNS[1:], cells)).replace("**", "")


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "| " + " | ".join("---" for _ in COLUMNS) + " |"]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    return "\n".join(lines)


# ---------------------------------------------------------------- totals


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    ran = [r for r in results if r.get("status") == "ok"]
    plain_fails = [r for r in results if r.get("status") == "plain-fails"]
    harness_errors = [r for r in results if r.get("status") == "harness-error"]
    locks = [r for r in ran if (r.get("locked") or {}).get("ok")]
    identical = [r for r in ran if r.get("identical")]
    stable = [r for r in ran if (r.get("baseline") or {}).get("stable")]
    stable_reproduced = [r for r in stable if r.get("replay_verdict") == "reproduced"]
    stable_verified_ok = [r for r in stable if str(r.get("replay_verdict", "")).startswith("reproduced")]
    unstable = [r for r in ran if r.get("baseline") and not r["baseline"]["stable"]]
    unstable_flagged = [r for r in unstable if r.get("replay_verdict") == "DIVERGED"
                        or "not verified" in str(r.get("replay_verdict"))]
    values = sum((r.get("opaque") or {}).get("values", 0) for r in ran)
    opaque = sum((r.get("opaque") or {}).get("opaque", 0) for r in ran)
    types = Counter()
    for r in ran:
        for item in (r.get("opaque") or {}).get("items", []):
            types[item.get("type") or f"(unknown type: {item.get('name')})"] += 1
    timed = [r for r in ran if (r.get("overhead") or {}).get("ratio") is not None]
    lf = sum(r["overhead"]["nbconvert_lockfile_s"] for r in timed)
    ex = sum(r["overhead"]["nbconvert_execute_s"] for r in timed)
    in_proc = [r for r in ran if (r.get("overhead") or {}).get("build_s") and r["overhead"].get("plain_s")]
    slow_shutdown = [r["name"] for r in ran if (r.get("overhead") or {}).get("tail_locked_s") is not None
                     and r["overhead"].get("tail_plain_s") is not None
                     and r["overhead"]["tail_locked_s"] > r["overhead"]["tail_plain_s"] + SHUTDOWN_SLACK_S]
    same_exc = [r for r in plain_fails if r.get("same_exception")]
    warnings = [(r["name"], w["cell"], w["line"]) for r in results for w in r.get("notelock_lines", [])]
    return {
        "notebooks": len(results),
        "run_plain": len(ran),
        "plain_fails": [r["name"] for r in plain_fails],
        "plain_fails_same_exception": len(same_exc),
        "harness_errors": [r["name"] for r in harness_errors],
        "locks": len(locks),
        "locks_failed": [r["name"] for r in ran if r not in locks],
        "identical": len(identical),
        "not_identical": [r["name"] for r in ran if r not in identical],
        "stable": len(stable),
        "stable_reproduced": len(stable_reproduced),
        "stable_reproduced_or_not_verified": len(stable_verified_ok),
        "false_verdicts": [r["name"] for r in stable if (r.get("locked") or {}).get("ok")
                           and r.get("replay_verdict") in ("DIVERGED", "error", "—")],
        "unstable": len(unstable),
        "unstable_flagged": len(unstable_flagged),
        "unstable_missed": [r["name"] for r in unstable if r not in unstable_flagged],
        "values": values,
        "opaque": opaque,
        "opaque_share": (opaque / values) if values else None,
        "top_opaque_types": types.most_common(10),
        "nbconvert_lockfile_s": round(lf, 1),
        "nbconvert_execute_s": round(ex, 1),
        "overhead": round(lf / ex, 3) if ex else None,
        "overhead_timed": len(timed),
        "in_process_overhead": round(sum(r["overhead"]["build_s"] for r in in_proc)
                                     / sum(r["overhead"]["plain_s"] for r in in_proc), 3) if in_proc else None,
        "slowest_overheads": sorted(((r["name"], r["overhead"]["ratio"]) for r in timed), key=lambda x: -x[1])[:5],
        "slow_shutdown": slow_shutdown,
        "notelock_lines": len(warnings),
        "notelock_lines_list": warnings[:50],
    }


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def totals_text(t: dict[str, Any]) -> str:
    run = t["run_plain"]
    lines = [
        f"- notebooks: {t['notebooks']}; run plain: {run}; plain fails (excluded): {len(t['plain_fails'])}"
        + (f" ({t['plain_fails_same_exception']} of them raise the same exception locked)" if t["plain_fails"] else "")
        + (f"; harness errors: {', '.join(t['harness_errors'])}" if t["harness_errors"] else ""),
        f"- lock: {t['locks']} of {run} ({_mark(t['locks'] == run)}: every notebook that runs plain locks)",
        f"- outputs identical to plain: {t['identical']} of {run} ({_mark(t['identical'] == run)})",
        f"- plain baseline stable: {t['stable']} of {run}; of those, replay `reproduced`: {t['stable_reproduced']}"
        f" ({_mark(t['stable_reproduced'] == t['stable'])}), reproduced with some nodes not verified:"
        f" {t['stable_reproduced_or_not_verified'] - t['stable_reproduced']}, DIVERGED or failed: {len(t['false_verdicts'])}",
        f"- plain baseline differs: {t['unstable']}; flagged by replay (DIVERGED or not verified): {t['unstable_flagged']}"
        f" ({_mark(t['unstable_flagged'] == t['unstable'])})",
    ]
    if t["opaque_share"] is not None:
        top = ", ".join(f"{name} ×{n}" for name, n in t["top_opaque_types"][:6]) or "none"
        lines.append(f"- opaque values: {t['opaque']} of {t['values']} recorded ({100 * t['opaque_share']:.2f} %;"
                     f" {_mark(t['opaque_share'] < TARGET_OPAQUE)}: under 1 %); top types: {top}")
    if t["overhead"] is not None:
        lines.append(f"- lock-all wall time: {t['nbconvert_lockfile_s']} s (`nbconvert --to lockfile`) vs"
                     f" {t['nbconvert_execute_s']} s (`nbconvert --execute`) over {t['overhead_timed']} notebooks:"
                     f" {t['overhead']:.3f}× ({_mark(t['overhead'] <= TARGET_OVERHEAD)}: within {TARGET_OVERHEAD}×)")
    if t["in_process_overhead"] is not None:
        lines.append(f"- in-process: `build_lock` against a plain nbclient run: {t['in_process_overhead']:.3f}×")
    lines.append(f"- waits longer after the last cell than plain (by > {SHUTDOWN_SLACK_S} s): {len(t['slow_shutdown'])}"
                 + (f" ({', '.join(t['slow_shutdown'][:8])})" if t["slow_shutdown"] else "")
                 + f" ({_mark(not t['slow_shutdown'])})")
    lines.append(f"- `notelock:` lines in the locked runs' output: {t['notelock_lines']}")
    return "\n".join(lines)


def environment(**extra: Any) -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for pkg in ("notelock", "scikit-learn", "pandas", "numpy", "scipy", "matplotlib", "statsmodels",
                "imbalanced-learn", "lightgbm", "nbclient", "ipykernel"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    import os

    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"), "python": platform.python_version(),
            "machine": platform.machine(), "cpus": os.cpu_count(), "packages": versions, **extra}


# ---------------------------------------------------------------- docs/corpus.md


def _findings(results: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for r in results:
        for d in r.get("differences", []):
            if d.get("unstable_in_plain"):
                continue
            first = d["diffs"][0]
            out.append(f"- **{r['name']}**, cell {d['cell']} (`{_code(d['source'])}`): locked ≠ plain in"
                       f" {first['what']}: plain `{_code(first.get('a'))}`, locked `{_code(first.get('b'))}`")
    for r in results:
        if (r.get("baseline") or {}).get("stable") and r.get("replay_verdict") in ("DIVERGED", "error"):
            fd = (r.get("replay") or {}).get("first_diverged") or {}
            detail = fd.get("detail") or (r.get("replay") or {}).get("error") or ""
            out.append(f"- **{r['name']}**: plain runs agree but replay says {r['replay_verdict']}:"
                       f" {fd.get('label') or fd.get('id') or ''} — {_code(detail, 240)}")
    for r in results:
        lk = r.get("locked") or {}
        if r.get("status") == "ok" and not lk.get("ok"):
            e = lk.get("error") or {}
            failure = _code(e.get("message") or e.get("evalue"), 240)
            out.append(f"- **{r['name']}**: runs plain, the locked build fails: {failure}")
    for r in results:
        for w in r.get("notelock_lines", []):
            out.append(f"- **{r['name']}**, cell {w['cell']}: `{_code(w['line'], 240)}`")
    return out


def _code(text: Any, n: int = 120) -> str:
    s = " ".join(str(text if text is not None else "").split())
    s = s.replace("`", "'").replace("|", "\\|")
    return s if len(s) <= n else s[: n - 1] + "…"


def markdown(results: list[dict[str, Any]], t: dict[str, Any], meta: dict[str, Any], manifest: Any) -> str:
    by_source = Counter(n["source"] for n in manifest.notebooks)
    sources = []
    for sid, src in manifest.sources.items():
        if src["kind"] == "sdist":
            pin = f"PyPI sdist `{src['package']}=={src['version']}` (sha256 `{src['sha256'][:16]}…`)"
        else:
            pin = f"git `{src['repo']}` at `{src['commit'][:12]}`"
        commit = src.get("commit")
        upstream = f"`{src['repo']}`" + (f" tag `{src['tag']}`" if src.get("tag") else "") + \
            (f", commit `{commit[:12]}`" if commit else "")
        sources.append(f"| {sid} | {by_source.get(sid, 0)} | {pin} | {upstream} | {src['licence']} |")
    pk = meta.get("packages", {})
    env = ", ".join(f"{k} {v}" for k, v in pk.items() if v)
    lines = [
        "# The real-notebook corpus",
        "",
        "notelock must never change a user's result, and `notelock replay` must say",
        "`reproduced` exactly when the computation reproduced — on notebooks nobody on the",
        "project wrote. The corpus is that test: example notebooks and gallery scripts of",
        "other projects, run plain and locked side by side by a differential harness.",
        "",
        "## Reproduce",
        "",
        "```bash",
        "pip install -e \".[corpus]\"",
        "python -m bench corpus build            # fetch the pinned sources, convert the notebooks into bench/.corpus/",
        "python -m bench corpus --json corpus.json --markdown docs/corpus.md",
        "```",
        "",
        "`build` needs only the package registry for the notebooks that come from source",
        "distributions; notebooks pinned to a git commit need a local git directory of",
        "their repository (`--git OWNER/NAME=GITDIR` or `--mirrors DIR`) and are skipped",
        "without one. `--ci` restricts either command to the fast subset that",
        "`tests/corpus` runs; `--only NAME ...` to some notebooks; `--jobs N` runs N",
        "notebooks at once (timings are cleanest with the default, 1).",
        "",
        "## What is in it",
        "",
        "Nothing of another project is committed. `bench/corpus/manifest.json` names, for each",
        "notebook, its source (pinned by exact version and sha256, or by commit), its path",
        "there, its licence, how it is converted and any note on data; `bench/corpus/build.py`",
        "fetches and converts mechanically (`ipynb`: outputs stripped; sphinx-gallery",
        "scripts: sphinx-gallery's own notebook writer, so each notebook is the one the",
        "upstream gallery offers for download; plain scripts: jupytext `py:light`).",
        "Examples that need the network (`fetch_openml`, URLs,",
        "`seaborn.load_dataset`), or that cannot run as a notebook (`__file__`), are left out",
        "rather than edited.",
        "",
        "| source | notebooks | pinned as | upstream | licence |",
        "| --- | ---: | --- | --- | --- |",
        *sources,
        "",
        *[f"- {sid}: {src['commit_note']}" for sid, src in manifest.sources.items() if src.get("commit_note")],
        "",
        "## How a notebook is judged",
        "",
        "Each run gets a fresh copy of the notebook's folder and a fresh kernel whose working",
        "directory is that folder (`bench/corpus/harness.py`):",
        "",
        "1. **runs plain**: nbclient, as `jupyter nbconvert --execute` runs it; a notebook",
        "   that fails plain is excluded (the table still says whether the locked run",
        "   raises the same exception in the same cell);",
        "2. **locks**: notelock's own headless build in lock-all mode (every cell recorded);",
        "3. **outputs identical**: every code cell's outputs, locked against plain:",
        "   `text/plain` results, stdout, stderr, displayed data (`text/plain` and whether",
        "   it has an image) and errors, after masking addresses, measured times, progress",
        "   bars, temporary paths and PIDs (`bench/corpus/masking.py` lists every rule).",
        "   Cells whose outputs differ between the two plain runs are not held against",
        "   notelock, nor are cells after the first such cell (their inputs come from a run",
        "   that was already nondeterministic; the table names them: \"after the plain runs",
        "   diverged\"); `notelock:` lines on stderr are reported apart, each a finding;",
        "4. **plain baseline**: do two plain runs agree, cell by cell (here images are also",
        "   compared by their bytes: a figure drawn from other numbers shows nondeterminism).",
        "   When they agree but the replay says `DIVERGED`, two more plain runs hash the",
        "   diverged variables after their cells with notelock's hashing (reading, never",
        "   changing them): a value that differs between two plain runs is nondeterministic",
        "   in the notebook itself, only not shown, and the baseline says so (\"same outputs,",
        "   values differ\"); the replay's `DIVERGED` on it is then the right verdict;",
        "5. **replay**: `notelock replay LOCK --json` in a fresh kernel. A notebook whose",
        "   plain baseline is stable must replay `reproduced`; one that differs between",
        "   plain runs must be flagged (`DIVERGED`, naming the node and the variable);",
        "6. **opaque**: recorded values (cell reads and writes, each other node's",
        "   arguments and output) hashed only by a fallback, with their types;",
        "7. **lock-all overhead**: `jupyter nbconvert --to lockfile` against",
        "   `jupyter nbconvert --to notebook --execute`, each in a fresh copy; and how long",
        "   each run waited after its last cell (kernel shutdown; for the build, also",
        "   writing the lock) — the locked one must not wait longer.",
        "",
        "## Targets",
        "",
        "- every notebook that runs plain also locks, with identical outputs;",
        "- every notebook whose outputs are identical across two plain runs replays `reproduced`;",
        "- every notebook that differs between plain runs is flagged, naming the node and variable;",
        f"- under {100 * TARGET_OPAQUE:.0f} % of recorded values opaque, each named with its type;",
        f"- lock-all wall time within {TARGET_OVERHEAD}× of `nbconvert --execute` over the corpus,"
        " never waiting on kernel shutdown longer than plain nbconvert does.",
        "",
        f"## One run ({meta.get('date')})",
        "",
        f"Python {meta.get('python')} on {meta.get('machine')}, {meta.get('cpus')} CPUs,"
        f" {meta.get('jobs')} notebook(s) at a time, {meta.get('seconds')} s in all. {env}.",
        "",
        *([str(meta["note"]), ""] if meta.get("note") else []),
        "Timings come from runs two at a time on two cores, so a single notebook's ratio is",
        "noisy (±30 % on the shortest ones); the corpus total is the figure to hold against",
        "the target. `shutdown` is how long each run waited after its last cell.",
        "",
        table(results),
        "",
        "### Totals",
        "",
        totals_text(t),
        "",
    ]
    findings = _findings(results)
    if findings:
        lines += ["### Findings", "",
                  "Where the locked run's outputs differ from the plain run's, or the plain runs agree but the"
                  " replay did not say `reproduced` (each to be judged: a variable that holds a measured time"
                  " differs between runs even when every printed output agrees):", "",
                  *findings, ""]
    return "\n".join(lines)
