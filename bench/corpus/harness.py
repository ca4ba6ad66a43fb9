"""The differential harness: a notebook run plain and run locked, cell by cell.

For one notebook of the built corpus, each run in its own fresh copy of the
notebook's folder (so data a run writes is its own), in a fresh kernel whose
working directory is the notebook's folder:

1. **plain**, twice: nbclient, as ``jupyter nbconvert --execute`` runs it;
   the two runs are the baseline: a cell whose outputs differ between them
   (images compared by their bytes here) is nondeterministic by itself;
2. **locked**, in lock-all mode, through notelock's own headless build
   (``build_lock(path, nb=nb)`` executes ``nb`` in place, so its outputs are
   the locked run's), writing ``<notebook>.lock.json`` beside it;
3. the outputs are compared cell by cell after masking
   (:mod:`bench.corpus.masking`); a difference in a cell that is stable
   between the plain runs is a **finding**: notelock changed what the user
   sees. ``notelock:`` lines are collected apart;
4. ``notelock replay LOCK --json`` re-runs the lock in a fresh kernel; its
   verdicts are summarised;
5. the lock's opaque values are counted against its recorded values (cell
   reads and writes, each other node's arguments and output) and named
   with their types: one more plain run asks the kernel, silently, after
   the cell concerned, for each such name's type and for the reason
   notelock's hashing gives (what inside it needed a fallback);
6. the overhead: ``jupyter nbconvert --to lockfile`` against ``jupyter
   nbconvert --to notebook --execute``, each in a fresh copy, and how long
   each run waited after its last cell (kernel shutdown, and for the
   locked build writing and checking the lock).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from . import masking

#: seconds one cell may run (plain and locked alike)
CELL_TIMEOUT = 600
#: seconds a replay or an nbconvert run may take in all
RUN_TIMEOUT = 1800


def _build_module() -> Any:
    from notelock.headless import build

    return build


def kernel_env() -> dict[str, str]:
    """The environment every kernel of the harness starts with: this
    process's, without notelock's driver variables (a plain run must not
    see them), with the debugger warning silenced as the build does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTELOCK_")}
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def fresh_copy(src_root: Path, notebook_rel: str, base: Path, label: str) -> tuple[Path, Path]:
    """A copy of the notebook's folder under *base*/*label*; (copy root, notebook path)."""
    dest = base / label
    shutil.copytree(src_root, dest)
    return dest, dest / notebook_rel


def _parse_ts(value: Any) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    try:
        got = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return got if got.tzinfo else got.replace(tzinfo=dt.timezone.utc)


def last_cell_finished(nb: Any) -> dt.datetime | None:
    """When the last cell's execution ended (nbclient's ``iopub.status.idle``)."""
    stamps = [_parse_ts(c.get("metadata", {}).get("execution", {}).get("iopub.status.idle"))
              for c in nb.cells if c.get("cell_type") == "code"]
    stamps = [s for s in stamps if s is not None]
    return max(stamps) if stamps else None


def _tail(nb: Any, ended: dt.datetime) -> float | None:
    last = last_cell_finished(nb)
    return None if last is None else round(max(0.0, (ended - last).total_seconds()), 3)


# ---------------------------------------------------------------- plain runs


async def _execute_plain(nb: Any, cwd: Path, *, timeout: int, probes: dict[int, list[str]] | None,
                         probe: str) -> tuple[dict[str, Any] | None, dict[int, dict[str, Any]]]:
    """Run *nb* in place as ``nbclient.NotebookClient.execute`` does; after
    code cell *i* of *probes*, ask the kernel silently for the types of the
    names listed. (error or None, {cell index: {name: type}})."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    types: dict[int, dict[str, str]] = {}
    error = None
    log = tempfile.TemporaryFile()
    try:
        async with client.async_setup_kernel(env=kernel_env(), cwd=str(cwd), stderr=log):
            info = await client.async_wait_for_reply(client.kc.kernel_info())
            if info is not None:
                client.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(client.nb.cells):
                try:
                    await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except CellExecutionError as err:
                    error = {"cell": index + 1, "ename": err.ename, "evalue": masking.mask(err.evalue)[:300]}
                    break
                if probes and index in probes:
                    types[index] = await _probe_types(client, probes[index], probe)
    finally:
        log.close()
    return error, types


#: the probe: for each name, its type and, when notelock's hashing is importable
#: in the kernel, why it is opaque (the fallback's own words)
_PROBE = """(lambda json, names, g: json.dumps({n: [type(g[n]).__module__ + "." + type(g[n]).__qualname__,
    (lambda h: h.reason if h is not None and h.opaque else None)(
        (lambda m: m.hash_value(g[n]) if m is not None else None)(
            __import__("importlib").util.find_spec("notelock") and __import__("notelock.core.hashing",
                                                                               fromlist=["hash_value"])))]
    for n in names if n in g}))(__import__("json"), {names!r}, globals())"""


#: the state probe: for each name, notelock's content hash of its value (read only:
#: hashing never changes a value), so that two plain runs can be compared on what
#: they computed, not only on what they showed
_STATE_PROBE = """(lambda json, names, g, h: json.dumps({n: h.hash_value(g[n]).digest for n in names if n in g}))(
    __import__("json"), {names!r}, globals(), __import__("notelock.core.hashing", fromlist=["hash_value"]))"""


async def _probe_types(client: Any, names: list[str], probe: str) -> dict[str, Any]:
    """What the *probe* expression gives per name of *names* (``_PROBE``:
    ``['module.Type', reason or None]``; ``_STATE_PROBE``: a content hash),
    asked with a silent execute (no output, no history, no execution count)."""
    msg_id = client.kc.execute("", silent=True, store_history=False,
                               user_expressions={"t": probe.replace("{names!r}", repr(sorted(set(names))))})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            reply = await client.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - a probe never fails the run
            return {}
        if reply.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        expr = reply["content"].get("user_expressions", {}).get("t", {})
        if expr.get("status") != "ok":
            return {}
        try:
            return json.loads(eval(expr["data"]["text/plain"], {"__builtins__": {}}))  # a str literal
        except Exception:  # noqa: BLE001
            return {}
    return {}


def run_plain(notebook: Path, *, timeout: int = CELL_TIMEOUT, probes: dict[int, list[str]] | None = None,
              state: bool = False) -> dict[str, Any]:
    """A plain nbclient run; with *probes*, the types of the names listed
    after each cell (or, with *state*, their content hashes) in ``types``."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    started = time.perf_counter()
    error, types = asyncio.run(_execute_plain(nb, notebook.parent, timeout=timeout, probes=probes,
                                              probe=_STATE_PROBE if state else _PROBE))
    ended = dt.datetime.now(dt.timezone.utc)
    return {"nb": nb, "ok": error is None, "error": error, "seconds": round(time.perf_counter() - started, 3),
            "tail": _tail(nb, ended), "types": types}


# ---------------------------------------------------------------- the locked run


def run_locked(notebook: Path, *, timeout: int = CELL_TIMEOUT) -> dict[str, Any]:
    """Lock-all build through notelock's own ``build_lock``; the notebook
    object it executed holds the locked run's outputs."""
    import nbformat

    build = _build_module()
    nb = nbformat.read(notebook, as_version=4)
    target = notebook.with_name(notebook.stem + ".lock.json")
    started = time.perf_counter()
    error = None
    warnings: list[str] = []
    try:
        result = build.build_lock(notebook, nb=nb, target=target, timeout=timeout)
        warnings = list(result.warnings)
    except build.CellFailed as err:
        error = {"cell": err.cell_number, "ename": err.ename, "evalue": masking.mask(err.evalue)[:300],
                 "message": str(err)[:300]}
    except Exception as err:  # noqa: BLE001 - BuildError, NotelockError: the build did not yield a lock
        error = {"cell": None, "ename": type(err).__name__, "evalue": masking.mask(str(err))[:300],
                 "message": str(err)[:300]}
    ended = dt.datetime.now(dt.timezone.utc)
    lock = None
    if error is None and target.exists():
        lock = json.loads(target.read_text(encoding="utf-8"))
    return {"nb": nb, "ok": error is None, "error": error, "seconds": round(time.perf_counter() - started, 3),
            "tail": _tail(nb, ended), "lock_path": target, "lock": lock, "warnings": warnings}


# ---------------------------------------------------------------- comparison


def code_cells(nb: Any) -> list[tuple[int, Any]]:
    return [(i, c) for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]


def views(nb: Any, roots: list[str]) -> dict[int, dict[str, Any]]:
    return {i: masking.cell_view(c, roots) for i, c in code_cells(nb)}


def compare_runs(a: dict[int, dict[str, Any]], b: dict[int, dict[str, Any]], *, image_content: bool = False
                 ) -> dict[int, list[dict[str, Any]]]:
    """Cell index → differences, for the cells whose outputs differ (see
    :func:`bench.corpus.masking.compare_views` for *image_content*)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for i in sorted(set(a) | set(b)):
        if i not in a or i not in b:
            out[i] = [{"what": "cell", "a": "present" if i in a else "missing", "b": "present" if i in b else "missing"}]
            continue
        d = masking.compare_views(a[i], b[i], image_content=image_content)
        if d:
            out[i] = d
    return out


def _head(source: str, n: int = 80) -> str:
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:n]
    return source.strip()[:n]


# ---------------------------------------------------------------- replay


def run_replay(lock_path: Path, *, timeout: int = RUN_TIMEOUT) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "notelock", "replay", str(lock_path), "--json"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=lock_path.parent, capture_output=True, text=True, timeout=timeout,
                              env=kernel_env())
    except subprocess.TimeoutExpired:
        return {"exit_code": None, "error": f"replay did not finish within {timeout} s", "counts": {},
                "seconds": round(time.perf_counter() - started, 3)}
    seconds = round(time.perf_counter() - started, 3)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        return {"exit_code": proc.returncode, "error": "no JSON report: " + (proc.stderr.strip()[-300:] or proc.stdout[-300:]),
                "counts": {}, "seconds": seconds}
    return summarise_replay(report, proc.returncode, seconds)


def summarise_replay(report: dict[str, Any], exit_code: int | None, seconds: float | None = None) -> dict[str, Any]:
    verdicts = report.get("verdicts") or []
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.get("verdict", "?")] = counts.get(v.get("verdict", "?"), 0) + 1
    diverged = [v for v in verdicts if str(v.get("verdict", "")).upper().startswith("DIVERGED")]
    not_verified = [v for v in verdicts if v.get("verdict") == "not verified"]
    first = diverged[0] if diverged else None
    return {
        "exit_code": exit_code if exit_code is not None else report.get("exit_code"),
        "error": report.get("error"),
        "counts": counts,
        "nodes": len(verdicts),
        "first_diverged": None if first is None else {
            "id": first.get("id"), "op": first.get("op"), "label": first.get("label"),
            "detail": str(first.get("detail", ""))[:500]},
        "diverged": [{"id": v.get("id"), "label": v.get("label"), "detail": str(v.get("detail", ""))[:300],
                      "variables": sorted(n for n, x in (v.get("variables") or {}).items()
                                          if str(x.get("verdict", "")).upper().startswith("DIVERGED"))}
                     for v in diverged[:20]],
        "not_verified": [{"id": v.get("id"), "label": v.get("label"), "detail": str(v.get("detail", ""))[:200]}
                         for v in not_verified[:20]],
        "messages": [str(m)[:300] for m in (report.get("messages") or [])][:20],
        "seconds": seconds,
    }


def replay_verdict(replay: dict[str, Any] | None) -> str:
    """One word for a notebook's replay: ``reproduced`` (exit 0, every node
    verified), ``reproduced, N not verified``, ``DIVERGED``, ``error``."""
    if not replay:
        return "—"
    counts = replay.get("counts", {})
    if any(k.upper().startswith("DIVERGED") for k in counts):
        return "DIVERGED"
    if replay.get("exit_code") != 0:
        return "error"
    nv = counts.get("not verified", 0)
    return "reproduced" if not nv else f"reproduced, {nv} not verified"


# ---------------------------------------------------------------- opaque values


def opaque_values(lock: dict[str, Any]) -> dict[str, Any]:
    """Recorded values and opaque ones, from a lock: for a cell node its
    reads and writes, for any other node its arguments and its output."""
    total = 0
    items: list[dict[str, Any]] = []
    cells = lock.get("cells", [])
    for nid, node in sorted(lock.get("nodes", {}).items()):
        op = node.get("op")
        if op == "cell":
            names = set(node.get("reads", {})) | set(node.get("writes", {}))
            total += len(node.get("reads", {})) + len(node.get("writes", {}))
        else:
            names = set(node.get("args", {})) | {"output"}
            total += len(node.get("args", {})) + 1
        for name in node.get("opaque", []) or []:
            cell = node.get("cell")
            count = cells[cell].get("execution_count") if isinstance(cell, int) and cell < len(cells) else None
            role = ("read" if name in node.get("reads", {}) else "write") if op == "cell" else op
            items.append({"node": nid, "op": op, "name": name, "role": role, "execution_count": count,
                          "reason": None if op == "cell" or name in names else name})
    return {"values": total, "opaque": len(items), "items": items}


def probe_plan(nb_locked: Any, items: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Which names to ask the type of after which code cell of the plain
    run: a cell's writes after it, its reads after the code cell before it."""
    by_count = {c.get("execution_count"): i for i, c in code_cells(nb_locked) if c.get("execution_count")}
    order = [i for i, _ in code_cells(nb_locked)]
    plan: dict[int, list[str]] = {}
    for item in items:
        if item["op"] != "cell":
            continue
        index = by_count.get(item["execution_count"])
        if index is None:
            continue
        if item["role"] == "read":
            pos = order.index(index)
            if pos == 0:
                continue
            index = order[pos - 1]
        plan.setdefault(index, []).append(item["name"])
    return plan


def state_plan(nb_locked: Any, lock: dict[str, Any], replay: dict[str, Any]) -> dict[int, list[str]]:
    """Which variables to hash after which code cell of two plain runs: those
    of the cells replay found DIVERGED."""
    by_count = {c.get("execution_count"): i for i, c in code_cells(nb_locked) if c.get("execution_count")}
    cells = lock.get("cells") or []
    plan: dict[int, list[str]] = {}
    for v in replay.get("diverged") or []:
        node = (lock.get("nodes") or {}).get(v.get("id")) or {}
        cell = node.get("cell")
        if not v.get("variables") or not isinstance(cell, int) or not 0 <= cell < len(cells):
            continue
        index = by_count.get(cells[cell].get("execution_count"))
        if index is not None:
            plan.setdefault(index, []).extend(v["variables"])
    return plan


def state_differences(plan: dict[int, list[str]], a: dict[int, dict[str, str]], b: dict[int, dict[str, str]]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(variables whose hashes differ between two probed runs *a* and *b*,
    variables a run could not hash): a probe that could not answer (a name
    not bound, a failed probe) is no evidence either way."""
    differs: list[dict[str, Any]] = []
    unprobed: list[dict[str, Any]] = []
    for index, names in sorted(plan.items()):
        for name in sorted(set(names)):
            x, y = a.get(index, {}).get(name), b.get(index, {}).get(name)
            where = {"cell": index + 1, "name": name}
            if x is None or y is None:
                unprobed.append(where)
            elif x != y:
                differs.append(where)
    return differs, unprobed


def state_baseline(src_root: Path, rel: str, base: Path, nb_locked: Any, lock: dict[str, Any],
                   replay: dict[str, Any], *, timeout: int) -> dict[str, Any] | None:
    """For a notebook whose plain runs showed the same but whose replay
    DIVERGED: two more plain runs that hash the diverged variables after
    their cells. A variable whose value differs between two plain runs is
    nondeterministic in the notebook itself (it just is not shown): the
    replay's verdict on it is right. None when there is nothing to probe."""
    plan = state_plan(nb_locked, lock, replay)
    if not plan:
        return None
    runs = []
    for label in ("state-1", "state-2"):
        _, path = fresh_copy(src_root, rel, base, label)
        runs.append(run_plain(path, timeout=timeout, probes=plan, state=True)["types"])
    differs, unprobed = state_differences(plan, runs[0], runs[1])
    probed = sum(len(set(names)) for names in plan.values())
    return {"probed": probed, "differs": differs, "unprobed": unprobed}


# ---------------------------------------------------------------- nbconvert timing


def time_nbconvert(notebook: Path, to: str, *, timeout: int = RUN_TIMEOUT) -> dict[str, Any]:
    args = ["--to", to, notebook.name]
    if to == "notebook":
        args += ["--execute", "--output", notebook.stem + ".executed"]
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", *args]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=notebook.parent, capture_output=True, text=True, timeout=timeout,
                              env=kernel_env())
    except subprocess.TimeoutExpired:
        return {"ok": False, "seconds": None, "error": f"timed out after {timeout} s"}
    seconds = round(time.perf_counter() - started, 3)
    err = None if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
    return {"ok": proc.returncode == 0, "seconds": seconds, "error": err}


# ---------------------------------------------------------------- one notebook


def run_notebook(name: str, build_dir: Path, entry: dict[str, Any], manifest_entry: dict[str, Any] | None = None,
                 *, nbconvert: bool = True, timeout: int = CELL_TIMEOUT, keep: Path | None = None) -> dict[str, Any]:
    """Every step for one notebook; a JSON-able report (see module docstring)."""
    result: dict[str, Any] = {"name": name, "source": (manifest_entry or {}).get("source"),
                              "path": (manifest_entry or {}).get("path"), "status": "ok"}
    base = Path(tempfile.mkdtemp(prefix=f"corpus-{name}-"))
    try:
        _run_steps(result, build_dir / entry["root"], str(Path(entry["notebook"]).relative_to(entry["root"])),
                   base, nbconvert=nbconvert, timeout=timeout)
    except Exception as err:  # noqa: BLE001 - one notebook must not stop the corpus
        result["status"] = "harness-error"
        result["harness_error"] = f"{type(err).__name__}: {err}"
        result["traceback"] = traceback.format_exc()[-2000:]
    finally:
        if keep is not None:
            dest = keep / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(base, dest, ignore_dangling_symlinks=True)
        shutil.rmtree(base, ignore_errors=True)
    return result


def _run_steps(result: dict[str, Any], src_root: Path, rel: str, base: Path, *, nbconvert: bool,
               timeout: int) -> None:
    roots = [str(base)]
    # 1. plain, once (the second plain run comes after the locked one: it asks for opaque values' types)
    _, p1_path = fresh_copy(src_root, rel, base, "plain-1")
    plain1 = run_plain(p1_path, timeout=timeout)
    result["plain"] = [_run_facts(plain1)]
    # 2. locked
    _, lk_path = fresh_copy(src_root, rel, base, "locked")
    locked = run_locked(lk_path, timeout=timeout)
    result["locked"] = {k: v for k, v in _run_facts(locked).items()}
    result["locked"]["build_warnings"] = locked["warnings"]
    lock = locked["lock"]
    opaque = opaque_values(lock) if lock else {"values": 0, "opaque": 0, "items": []}
    # 1b. plain, again: the baseline
    _, p2_path = fresh_copy(src_root, rel, base, "plain-2")
    plain2 = run_plain(p2_path, timeout=timeout)
    result["plain"].append(_run_facts(plain2))
    # 5. the opaque values' types: one more plain run, which asks the kernel after the cells concerned
    types_after: dict[int, dict[str, list[str | None]]] = {}
    plan = probe_plan(locked["nb"], opaque["items"])
    if plan:
        _, p3_path = fresh_copy(src_root, rel, base, "probe")
        types_after = run_plain(p3_path, timeout=timeout, probes=plan)["types"]
    by_count = {c.get("execution_count"): i for i, c in code_cells(locked["nb"]) if c.get("execution_count")}
    order = [i for i, _ in code_cells(locked["nb"])]
    for item in opaque["items"]:
        if item["op"] != "cell":
            item["type"] = item.get("reason")
            continue
        index = by_count.get(item["execution_count"])
        if index is not None and item["role"] == "read" and order.index(index) > 0:
            index = order[order.index(index) - 1]
        probed = types_after.get(index, {}).get(item["name"]) if index is not None else None
        item["type"], item["reason"] = (probed[0], probed[1]) if probed else (None, None)
    result["opaque"] = opaque

    v1, v2, vl = views(plain1["nb"], roots), views(plain2["nb"], roots), views(locked["nb"], roots)
    if not plain1["ok"]:
        result["status"] = "plain-fails"
    # baseline: the two plain runs
    unstable = compare_runs(v1, v2, image_content=True)
    result["baseline"] = {"stable": not unstable and plain1["ok"] == plain2["ok"],
                          "cells": [_cell_report(plain1["nb"], i, d) for i, d in sorted(unstable.items())]}
    # 3. locked against plain (run 1), cell by cell
    diffs = compare_runs(v1, vl)
    differences = []
    first_unstable = min(unstable) if unstable else None
    for i, d in sorted(diffs.items()):
        rep = _cell_report(plain1["nb"], i, d)
        # a cell the two plain runs disagree on, or one after the first such
        # cell (its inputs come from a run that was already nondeterministic:
        # two plain runs may agree there by chance, as rounded scores do)
        rep["unstable_in_plain"] = i in unstable
        rep["after_unstable"] = i not in unstable and first_unstable is not None and i > first_unstable
        if rep["after_unstable"]:
            rep["unstable_in_plain"] = True
        differences.append(rep)
    result["differences"] = differences
    result["identical"] = not [d for d in differences if not d["unstable_in_plain"]] and \
        (plain1["ok"] == locked["ok"] or not plain1["ok"])
    result["same_exception"] = _same_exception(plain1["error"], locked["error"])
    notelock_lines: list[dict[str, Any]] = []
    for i, view in vl.items():
        for line in view["notelock"]:
            notelock_lines.append({"cell": i + 1, "line": masking.mask(line, roots)})
    result["notelock_lines"] = notelock_lines
    # 4. replay
    result["replay"] = run_replay(locked["lock_path"]) if locked["ok"] else None
    result["replay_verdict"] = replay_verdict(result["replay"])
    # 4b. the same outputs but a DIVERGED replay: do two plain runs compute the same values?
    if result["baseline"]["stable"] and result["replay_verdict"] == "DIVERGED" and lock:
        state = state_baseline(src_root, rel, base, locked["nb"], lock, result["replay"], timeout=timeout)
        if state is not None:
            result["baseline"]["state"] = state
            if state["differs"]:
                result["baseline"]["stable"] = False
                result["baseline"]["state_only"] = True
    # 6. overhead
    over: dict[str, Any] = {"plain_s": plain1["seconds"], "plain2_s": plain2["seconds"], "build_s": locked["seconds"],
                            "tail_plain_s": _max(plain1["tail"], plain2["tail"]), "tail_locked_s": locked["tail"]}
    if nbconvert and plain1["ok"]:
        _, ex_path = fresh_copy(src_root, rel, base, "nbconvert-execute")
        _, lf_path = fresh_copy(src_root, rel, base, "nbconvert-lockfile")
        ex = time_nbconvert(ex_path, "notebook")
        lf = time_nbconvert(lf_path, "lockfile")
        over.update(nbconvert_execute_s=ex["seconds"], nbconvert_lockfile_s=lf["seconds"],
                    nbconvert_execute_error=ex["error"], nbconvert_lockfile_error=lf["error"])
        if ex["ok"] and lf["ok"] and ex["seconds"]:
            over["ratio"] = round(lf["seconds"] / ex["seconds"], 3)
    result["overhead"] = over


def _max(*values: float | None) -> float | None:
    got = [v for v in values if v is not None]
    return max(got) if got else None


def _same_exception(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.get("cell") == b.get("cell") and a.get("ename") == b.get("ename")


def _run_facts(run: dict[str, Any]) -> dict[str, Any]:
    return {"ok": run["ok"], "error": run["error"], "seconds": run["seconds"], "tail_s": run["tail"]}


def _cell_report(nb: Any, index: int, diffs: list[dict[str, Any]]) -> dict[str, Any]:
    cell = nb.cells[index]
    return {"cell": index + 1, "execution_count": cell.get("execution_count"), "source": _head(cell.get("source", "")),
            "diffs": diffs}


__all__ = ["run_notebook", "run_plain", "run_locked", "run_replay", "compare_runs", "views", "opaque_values",
           "replay_verdict", "summarise_replay", "kernel_env"]
