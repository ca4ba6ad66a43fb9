"""The example notebook, executed headless in real kernels: the issue's acceptance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xxhash

from kernel_utils import run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
ENV = {"FRAUD_ROWS": "3000"}


def _lock(folder: Path) -> dict:
    return load_lock(folder / "fraud_detection.lock.json")


def _by_op(lock: dict, op: str, **match) -> list[tuple[str, dict]]:
    return [(nid, n) for nid, n in lock["nodes"].items()
            if n["op"] == op and all(n.get(k) == v for k, v in match.items())]


def _ancestors(lock: dict, nid: str) -> set[str]:
    seen: set[str] = set()
    stack = list(lock["nodes"][nid]["inputs"])
    while stack:
        cur = stack.pop()
        if cur not in seen:
            seen.add(cur)
            stack.extend(lock["nodes"][cur]["inputs"])
    return seen


def _descendants(lock: dict, nid: str) -> set[str]:
    return {other for other in lock["nodes"] if nid in _ancestors(lock, other)}


@pytest.fixture
def first_run(fraud_dir: Path) -> dict:
    run_notebook(fraud_dir / "fraud_detection.ipynb", env=ENV)
    return _lock(fraud_dir)


def test_lock_records_reads_fit_and_predict(fraud_dir: Path, first_run: dict):
    lock = first_run
    csv_bytes = (fraud_dir / "transactions.csv").read_bytes()
    [(read_id, read)] = _by_op(lock, "read", reader="pandas.read_csv")
    assert read["content"] == "xxh3_128:" + xxhash.xxh3_128_hexdigest(csv_bytes)
    assert read["path"] == "transactions.csv"
    assert (read["rows"], read["columns"]) == (3000, 7)
    schema = lock["schemas"][read["schema"]]["columns"]
    assert [c["name"] for c in schema] == ["date", "amount", "hour", "device_risk_score",
                                           "ip_risk_score", "merchant_category", "is_fraud"]

    [(sql_id, sql)] = _by_op(lock, "read", reader="pandas.read_sql_query")
    assert sql["query"].startswith("SELECT * FROM transactions")
    assert sql["connection"] == "sqlite:///fraud.db"

    [(fit_id, fit)] = _by_op(lock, "fit")
    assert fit["estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert fit["params"]["n_estimators"] == 200 and fit["params"]["max_depth"] == 10
    assert read_id in _ancestors(lock, fit_id)

    [(pred_id, pred)] = _by_op(lock, "predict")
    assert fit_id in pred["inputs"]
    assert pred["rows"] == 750
    # every executed cell is recorded, in order, with its source
    sources = [c["source"] for c in lock["cells"]]
    assert sources[0] == "%load_ext notelock"
    assert any(s.startswith("%%lock\nmodel = RandomForestClassifier") for s in sources)


def test_same_notebook_same_data_same_identity(fraud_dir: Path, first_run: dict):
    run_notebook(fraud_dir / "fraud_detection.ipynb", env=ENV)
    second = _lock(fraud_dir)
    assert second["identity"] == first_run["identity"]
    assert sorted(second["nodes"]) == sorted(first_run["nodes"])


@pytest.mark.parametrize("change", ["append_row", "add_column"])
def test_data_change_moves_read_and_everything_downstream(fraud_dir: Path, first_run: dict, change: str):
    csv = fraud_dir / "transactions.csv"
    lines = csv.read_text().splitlines()
    if change == "append_row":
        lines.append(lines[-1])
    else:
        lines = [lines[0] + ",note"] + [ln + ",x" for ln in lines[1:]]
    csv.write_text("\n".join(lines) + "\n")
    run_notebook(fraud_dir / "fraud_detection.ipynb", env=ENV)
    after = _lock(fraud_dir)
    [(old_read, _)] = _by_op(first_run, "read", reader="pandas.read_csv")
    [(new_read, _)] = _by_op(after, "read", reader="pandas.read_csv")
    assert new_read != old_read
    assert after["identity"] != first_run["identity"]
    downstream_before = _descendants(first_run, old_read)
    assert {n for n in downstream_before if n.startswith(("@fit_", "@predict_"))}, "fit/predict are downstream"
    for nid in downstream_before:
        assert nid not in after["nodes"], f"{nid} is downstream of the changed read and must change"
    # the cell that read the CSV is another computation now (its identity covers the read)
    [reading_cell] = [nid for nid, n in first_run["nodes"].items() if old_read in n.get("nodes", ())]
    assert reading_cell not in after["nodes"]
    # nothing that does not depend on the CSV changes (the SQL read and its cell among them)
    unaffected = set(first_run["nodes"]) - downstream_before - {old_read, reading_cell}
    assert unaffected, "some nodes do not depend on the CSV"
    for nid in unaffected:
        assert nid in after["nodes"], f"{nid} does not depend on the CSV and must keep its id"


def test_lock_file_is_canonical_json(fraud_dir: Path, first_run: dict):
    text = (fraud_dir / "fraud_detection.lock.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
