"""A Polars pipeline notebook in a real kernel: eager and lazy reads become read
nodes (files hashed), a scikit-learn model fitted on Polars frames is a node
linked to them, and the real ``notelock replay`` reproduces it, from
snapshots once a source has been backfilled."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from data.helpers import assert_replays_reproduced, lock_in, reads, replay_json, run
from notelock.core import hashing

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CELLS = (
    "%load_ext notelock",
    "%%lock --snapshot\nimport polars as pl\ntx = pl.read_parquet('tx.parquet')\n"
    "merchants = pl.scan_csv('merchants_*.csv').filter(pl.col('risk') >= 0).collect()",
    "%%lock\nfeatures = tx.join(merchants, on='merchant').with_columns(log_amount=pl.col('amount').log1p())\n"
    "X = features.select('log_amount', 'risk')\ny = features['fraud']",
    "%%lock\nfrom sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression().fit(X, y)\n"
    "pred = model.predict(X)\nprint(round(float(model.coef_[0][0]), 6))",
)


def sources(folder: Path) -> None:
    n = 200
    pl.DataFrame({"merchant": [f"m{i % 7}" for i in range(n)], "amount": [float(i % 13) + 0.5 for i in range(n)],
                  "fraud": [int(i % 5 == 0) for i in range(n)]}).write_parquet(folder / "tx.parquet")
    pl.DataFrame({"merchant": ["m0", "m1", "m2", "m3"], "risk": [0.1, 0.4, 0.2, 0.9]}).write_csv(folder / "merchants_a.csv")
    pl.DataFrame({"merchant": ["m4", "m5", "m6"], "risk": [0.3, 0.5, 0.05]}).write_csv(folder / "merchants_b.csv")


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("polars")
    sources(folder)
    lock = lock_in(folder, "pipe", CELLS)
    return folder, lock


def test_eager_and_lazy_reads_are_nodes_with_their_files_hashed(locked):
    folder, lock = locked
    by_reader = {n["reader"]: n for _, n in reads(lock)}
    assert len(reads(lock)) == 2, "Polars' own collects (join, with_columns) are not reads"
    eager = by_reader["polars.read_parquet"]
    assert eager["path"] == "tx.parquet"
    assert eager["content"] == hashing.hash_file(folder / "tx.parquet")
    assert eager["output"] == hashing.value_hash(pl.read_parquet(folder / "tx.parquet"))
    assert eager["snapshot_format"] == "file"
    lazy = by_reader["polars.LazyFrame.collect"]
    assert [f["path"] for f in lazy["files"]] == ["merchants_a.csv", "merchants_b.csv"]
    assert [f["content"] for f in lazy["files"]] == [hashing.hash_file(folder / p) for p in
                                                      ("merchants_a.csv", "merchants_b.csv")]
    expected = pl.scan_csv(folder / "merchants_*.csv").filter(pl.col("risk") >= 0).collect()
    assert lazy["output"] == hashing.value_hash(expected)
    assert "FILTER" in lazy["query"] and lazy["snapshot_format"] == "polars-ipc"
    schema = lock["schemas"][lazy["schema"]]
    assert schema == {"columns": [{"name": "merchant", "dtype": "String", "nulls": 0},
                                  {"name": "risk", "dtype": "Float64", "nulls": 0}]}
    assert lazy["rows"] == 7


def test_a_model_fitted_on_polars_frames_is_a_node_downstream_of_the_reads(locked):
    _, lock = locked
    nodes = lock["nodes"]
    [fit] = [n for n in nodes.values() if n["op"] == "fit"]
    [predict] = [n for n in nodes.values() if n["op"] == "predict"]
    assert fit["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert not fit.get("opaque")

    def upstream(nid: str) -> set[str]:
        seen, stack = set(), [nid]
        while stack:
            for i in nodes[stack.pop()].get("inputs", []):
                if i not in seen:
                    seen.add(i)
                    stack.append(i)
        return seen

    read_ids = {nid for nid, _ in reads(lock)}
    fit_id = next(k for k, n in nodes.items() if n is fit)
    cells_above = upstream(fit_id) | {i for c in upstream(fit_id) for i in nodes[c].get("nodes", [])}
    assert read_ids <= cells_above, "the fit derives from both reads"
    assert predict["model"] == fit["output"]


def test_replay_reproduces_every_node(locked):
    folder, _ = locked
    assert_replays_reproduced(folder)


def test_a_backfilled_source_changes_the_read_id_and_replays_from_its_snapshot(locked, tmp_path):
    folder, lock = locked
    work = tmp_path / "work"
    shutil.copytree(folder, work)
    # upstream adds a nullable column to both files and a merchant to one
    (work / "merchants_a.csv").write_text("merchant,risk,merchant_risk_score\nm0,0.1,\nm1,0.4,0.2\nm2,0.2,\nm3,0.9,\n")
    (work / "merchants_b.csv").write_text("merchant,risk,merchant_risk_score\nm4,0.3,\nm5,0.5,0.7\nm6,0.05,\nm7,0.6,0.1\n")
    code, report = replay_json(work, "original.lock.json")
    assert code == 0, report
    details = " ".join(v.get("detail", "") for v in report["verdicts"] if v["op"] == "read")
    assert "replayed from snapshot" in details and "merchant_risk_score" in details, report["verdicts"]
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}
    code, current = replay_json(work, "original.lock.json", "--against-current", "--out", "current.lock.json")
    assert code == 1
    drifted = [v for v in current["verdicts"] if v["op"] == "read" and v["verdict"] == "DIVERGED"]
    assert len(drifted) == 1 and "+ merchant_risk_score (Float64, 62% null)" in drifted[0]["detail"]
    assert "rows 7 → 8" in drifted[0]["detail"]
    relocked = run(work / "pipe.ipynb")
    old_ids = {n["reader"]: nid for nid, n in reads(lock)}
    new_ids = {n["reader"]: nid for nid, n in reads(relocked)}
    assert new_ids["polars.read_parquet"] == old_ids["polars.read_parquet"]
    assert new_ids["polars.LazyFrame.collect"] != old_ids["polars.LazyFrame.collect"]
