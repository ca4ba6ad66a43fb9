"""``python -m bench [--size small|large] [--only SECTION ...] [--json OUT]``

(``python -m bench corpus ...`` runs the real-notebook corpus instead: see bench/corpus.)

Runs notelock's benchmarks side by side with what users would use instead
and prints one table (what, notelock's figure, the peer's figure, the ratio),
then the correctness table: which method detects which change.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

SIZES: dict[str, dict[str, int]] = {
    # about two minutes on 2 cores
    "small": {"file_mb": 256, "rss_mb": 512, "frame_rows": 2_000_000, "object_rows": 1_000_000,
              "csv_mb": 20, "fit_rows": 20_000, "repeat": 3, "parquet_mb": 128},
    # ~1 GB inputs, as the targets are stated
    "large": {"file_mb": 1024, "rss_mb": 2048, "frame_rows": 16_000_000, "object_rows": 4_000_000,
              "csv_mb": 100, "fit_rows": 20_000, "repeat": 3, "parquet_mb": 1024},
}


def _sections(size: dict[str, int]) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    def hashing(name: str, **kw: Any) -> Callable[[], list[dict[str, Any]]]:
        return lambda: getattr(importlib.import_module("bench.hashing"), name)(**kw)

    def optional(module: str, name: str, **kw: Any) -> Callable[[], list[dict[str, Any]]]:
        def run() -> list[dict[str, Any]]:
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError:
                return [{"what": f"{module}: not available in this checkout", "notelock": None,
                         "peer": None, "peer_name": "", "ratio": None, "unit": ""}]
            return getattr(mod, name)(**kw)
        return run

    return {
        "file": hashing("bench_file", size_mb=size["file_mb"]),
        "memory": hashing("bench_peak_rss", size_mb=size["rss_mb"]),
        "frame": hashing("bench_frame", rows=size["frame_rows"]),
        "object-strings": hashing("bench_object_strings", rows=size["object_rows"]),
        "estimator": hashing("bench_forest"),
        "polars-frame": optional("bench.data", "bench_polars_frame", rows=size["frame_rows"], repeat=size["repeat"]),
        "duckdb-parquet": optional("bench.data", "bench_duckdb_parquet", size_mb=size["parquet_mb"],
                                   repeat=size["repeat"]),
        "duckdb-steps": optional("bench.data", "bench_duckdb_steps", size_mb=size["parquet_mb"], repeat=size["repeat"]),
        "kernel": lambda: importlib.import_module("bench.kernel").bench_lock_overhead(
            csv_mb=size["csv_mb"], fit_rows=size["fit_rows"], repeat=size["repeat"]),
        "cache": optional("bench.cache", "bench_cache"),
        "replay": optional("bench.replay", "bench_replay"),
        "session": optional("bench.session", "bench_long_session"),
        "status": optional("bench.status", "bench_status"),
        "badge": optional("bench.badge", "bench_status", csv_mb=size["csv_mb"]),
    }


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def print_table(rows: list[dict[str, Any]]) -> None:
    """A Markdown table, so a run can be pasted into docs/performance.md."""
    print("| what | notelock | peer | peer value | ratio |")
    print("| --- | ---: | --- | ---: | ---: |")
    for r in rows:
        ratio = r.get("ratio")
        print(f"| {r['what']} | {_fmt(r.get('notelock'), r.get('unit', ''))} | {r.get('peer_name', '')} | "
              f"{_fmt(r.get('peer'), r.get('peer_unit', r.get('unit', '')) if r.get('unit') != '%' else '')} | "
              f"{_fmt(ratio) + '×' if ratio is not None else '—'} |")


def print_correctness(rows: list[dict[str, Any]]) -> None:
    """One row per case, one column per method: does it tell the two apart (or
    hash equal data equal)?"""
    if not rows:
        return
    methods = [k for k in rows[0] if k not in ("case", "kind")]
    print("| case | expected | " + " | ".join(methods) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in methods) + " |")
    for r in rows:
        cells = ["yes" if r[m] is True else "**no**" if r[m] is False else str(r[m]) for m in methods]
        print(f"| {r['case']} | {r.get('kind', '')} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["corpus"]:  # the real-notebook corpus: python -m bench corpus --help
        return importlib.import_module("bench.corpus.cli").main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--only", nargs="*", help="run only these sections")
    parser.add_argument("--json", help="also write all rows as JSON to this file")
    args = parser.parse_args(argv)
    sections = _sections(SIZES[args.size])
    chosen = args.only or list(sections)
    unknown = [s for s in chosen if s not in sections]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)} (choose from {', '.join(sections)})")
    print(f"notelock benchmarks — size {args.size}, Python {platform.python_version()}, {platform.machine()}")
    rows: list[dict[str, Any]] = []
    for name in chosen:
        start = time.perf_counter()
        try:
            got = sections[name]()
        except Exception as err:  # noqa: BLE001 - one failing section should not hide the others
            got = [{"what": f"{name}: failed: {type(err).__name__}: {err}", "notelock": None, "peer": None,
                    "peer_name": "", "ratio": None, "unit": ""}]
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        rows.extend(got)
    print()
    print_table(rows)
    correctness = importlib.import_module("bench.hashing").correctness_table()
    print()
    print_correctness(correctness)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"size": args.size, "rows": rows, "correctness": correctness}, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
