"""``python -m bench corpus``: build the real-notebook corpus, then run the harness over it.

::

    python -m bench corpus build [--only NAME ...] [--ci] [--out DIR] [--git OWNER/NAME=GITDIR] [--mirrors DIR]
    python -m bench corpus [run] [--only NAME ...] [--ci] [--jobs N] [--json OUT] [--markdown docs/corpus.md]
                           [--findings PATH] [--no-nbconvert] [--out DIR] [--keep DIR]
    python -m bench corpus report OUT.json [--markdown PATH] [--findings PATH]

``build`` fetches and converts (see :mod:`bench.corpus.build`); ``run``
runs every built notebook plain twice, locked, replayed (see
:mod:`bench.corpus.harness`) and prints one row per notebook, then the
totals against the targets. Exit status 0 when the run completed (the
findings are in the table, not in the status), 2 for bad usage or an
unbuilt corpus.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from . import build as corpus_build
from . import report


def _run_one(args: tuple[str, str, dict[str, Any], dict[str, Any] | None, bool, int, str | None]) -> dict[str, Any]:
    from .harness import run_notebook

    name, build_dir, entry, manifest_entry, nbconvert, timeout, keep = args
    return run_notebook(name, Path(build_dir), entry, manifest_entry, nbconvert=nbconvert, timeout=timeout,
                        keep=Path(keep) if keep else None)


def run(names: list[str], build_dir: Path, *, jobs: int = 1, nbconvert: bool = True, timeout: int = 600,
        keep: Path | None = None, progress=None) -> list[dict[str, Any]]:
    """Run the harness over *names* (built in *build_dir*), *jobs* notebooks at
    a time, each in its own process; results in *names*' order."""
    manifest = corpus_build.load_manifest()
    by_name = {n["name"]: n for n in manifest.notebooks}
    index = corpus_build.load_index(build_dir)
    missing = [n for n in names if n not in index]
    if missing:
        raise corpus_build.CorpusError(f"not built in {build_dir}: {', '.join(missing)}"
                                       " (python -m bench corpus build)")
    tasks = [(n, str(build_dir), index[n], by_name.get(n), nbconvert, timeout, str(keep) if keep else None)
             for n in names]
    results: dict[str, dict[str, Any]] = {}
    if jobs <= 1:
        for t in tasks:
            results[t[0]] = _run_one(t)
            if progress:
                progress(results[t[0]], len(results), len(tasks))
    else:
        import multiprocessing

        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_run_one, t): t[0] for t in tasks}
            for fut in as_completed(futures):
                name = futures[fut]
                try:
                    results[name] = fut.result()
                except Exception as err:  # noqa: BLE001 - a worker that died is one notebook's failure
                    results[name] = {"name": name, "status": "harness-error", "harness_error": f"{type(err).__name__}: {err}"}
                if progress:
                    progress(results[name], len(results), len(tasks))
    return [results[n] for n in names]


def _progress(result: dict[str, Any], done: int, total: int) -> None:
    print(f"  [{done}/{total}] {result['name']}: {report.one_line(result)}", file=sys.stderr, flush=True)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks")
    p.add_argument("--ci", action="store_true", help="only the fast subset CI runs")
    p.add_argument("--jobs", "-j", type=int, default=1,
                   help="notebooks at once, each in its own process (default 1: timings are cleanest)")
    p.add_argument("--json", metavar="OUT", help="write every result as JSON to OUT")
    p.add_argument("--markdown", metavar="PATH", help="write the corpus table as Markdown to PATH (docs/corpus.md)")
    p.add_argument("--findings", metavar="PATH", help="write the findings, most important first, to PATH")
    p.add_argument("--no-nbconvert", action="store_true",
                   help="skip the nbconvert timing runs (--to lockfile vs --to notebook --execute)")
    p.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (default 600)")
    p.add_argument("--out", type=Path, default=corpus_build.DEFAULT_OUT, help="the build directory (default: bench/.corpus)")
    p.add_argument("--keep", type=Path, help="keep every run's folder (notebooks, locks, data) under this directory")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":
        p = argparse.ArgumentParser(prog="python -m bench corpus build",
                                    description="Fetch and convert the corpus's notebooks from their pinned sources.")
        corpus_build.add_arguments(p)
        try:
            return corpus_build.main(p.parse_args(argv[1:]))
        except corpus_build.CorpusError as err:
            print(f"corpus: error: {err}", file=sys.stderr)
            return 2
    if argv and argv[0] == "report":
        p = argparse.ArgumentParser(prog="python -m bench corpus report",
                                    description="Print (and write) the table and findings of an earlier run's --json.")
        p.add_argument("results", help="a --json file of python -m bench corpus")
        p.add_argument("--markdown", metavar="PATH", help="write the corpus table as Markdown to PATH")
        p.add_argument("--findings", metavar="PATH", help="write the findings, most important first, to PATH")
        args = p.parse_args(argv[1:])
        data = json.loads(Path(args.results).read_text(encoding="utf-8"))
        _report(data["notebooks"], data.get("meta", {}), args.markdown, args.findings)
        return 0
    if argv and argv[0] == "run":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="python -m bench corpus",
                                description="Run the differential harness over the built corpus "
                                            "(build it first: python -m bench corpus build).")
    add_run_arguments(p)
    args = p.parse_args(argv)
    try:
        manifest = corpus_build.load_manifest()
        selection = [n["name"] for n in manifest.select(args.only, ci=args.ci)]
        index = corpus_build.load_index(args.out)
        unbuilt = [n for n in selection if n not in index]
        if args.only and unbuilt:
            raise corpus_build.CorpusError(f"not built in {args.out}: {', '.join(unbuilt)} (python -m bench corpus build)")
        names = [n for n in selection if n in index]
        if not names:
            raise corpus_build.CorpusError(f"nothing built in {args.out} (python -m bench corpus build)")
    except corpus_build.CorpusError as err:
        print(f"corpus: error: {err}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print(f"notelock corpus — {len(names)} notebooks, {args.jobs} at a time, Python {platform.python_version()}",
          file=sys.stderr)
    for n in unbuilt:
        print(f"  {n}: not built (skipped)", file=sys.stderr)
    results = run(names, args.out, jobs=args.jobs, nbconvert=not args.no_nbconvert, timeout=args.timeout,
                  keep=args.keep, progress=_progress)
    meta = report.environment(jobs=args.jobs, seconds=round(time.perf_counter() - started, 1),
                              unbuilt=unbuilt, nbconvert=not args.no_nbconvert)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "totals": report.totals(results), "notebooks": results},
                                              indent=2, default=str) + "\n", encoding="utf-8")
    _report(results, meta, args.markdown, args.findings)
    return 0


def _report(results: list[dict[str, Any]], meta: dict[str, Any], markdown: str | None, findings: str | None) -> None:
    from .findings import findings_markdown

    totals = report.totals(results)
    print(report.table(results))
    print()
    print(report.totals_text(totals))
    if markdown:
        Path(markdown).write_text(report.markdown(results, totals, meta, corpus_build.load_manifest()),
                                  encoding="utf-8")
    if findings:
        Path(findings).write_text(findings_markdown(results, totals), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
