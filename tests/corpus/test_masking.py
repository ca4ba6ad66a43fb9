"""The masking rules of the differential harness: what they hide, and that a real difference survives."""

from __future__ import annotations

import nbformat
import pytest
from bench.corpus import masking
from bench.corpus.masking import cell_view, compare_views, mask


@pytest.mark.parametrize("a, b", [
    ("<Thing object at 0x7f3a2c1b9e80>", "<Thing object at 0x7f0011223344>"),
    ("done in 0.53s", "done in 1.27s"),
    ("fit took 12 ms, predict 3.2 seconds", "fit took 9 ms, predict 4.0 seconds"),
    ("[CV] END C=1; total time=   0.1s", "[CV] END C=1; total time=   0.3s"),
    ("overhead of testing was 0.000412 seconds.", "overhead of testing was 1.5e-03 seconds."),
    ("Wall time: 2.31 s", "Wall time: 812 ms"),
    ("Fitting the classifier took 3.07 milliseconds", "Fitting the classifier took 2.77 milliseconds"),
    ("CPU times: user 1.2 s, sys: 30 ms, total: 1.23 s", "CPU times: user 900 ms, sys: 10 ms, total: 910 ms"),
    ("Elapsed: 0.42", "Elapsed: 0.51"),
    (" 40%|████      | 2/5 [00:01<00:02,  1.98it/s]", " 60%|██████    | 3/5 [00:02<00:01,  1.50it/s]"),
    ("fold 1\rfold 2\rfold 3", "fold 3"),
    ("wrote /tmp/tmpab12cd/cache.joblib", "wrote /tmp/tmpzz99yy/cache.joblib"),
    ("/tmp/ipykernel_1234/2839472.py:3: UserWarning: x", "/tmp/ipykernel_98/11.py:3: UserWarning: x"),
    ("worker pid 4242 started", "worker pid 17 started"),
    ("Time:                        21:28:27   Log-Likelihood:   -102.04",
     "Time:                        21:28:30   Log-Likelihood:   -102.04"),
    ("Date:                Tue, 01 Dec 2026   Prob (F-statistic):  4.98e-10",
     "Date:                Wed, 02 Dec 2026   Prob (F-statistic):  4.98e-10"),
])
def test_masked_differences_disappear(a: str, b: str) -> None:
    assert a != b
    assert mask(a) == mask(b), (mask(a), mask(b))


@pytest.mark.parametrize("a, b", [
    ("accuracy: 0.953", "accuracy: 0.961"),
    ("Best parameters: {'C': 10, 'gamma': 0.001}", "Best parameters: {'C': 1, 'gamma': 0.001}"),
    ("100 samples, 20 features", "101 samples, 20 features"),
    ("array([1, 2, 3])", "array([1, 2, 4])"),
    ("{'time': 0.7103619575500488, 'logloss': 0.1465}", "{'time': 0.8196172714233398, 'logloss': 0.1465}"),
    ("n_iter_ = 12", "n_iter_ = 13"),
    ("took 3 iterations", "took 4 iterations"),
    ("Coefficients: [0.5 1.2]", "Coefficients: [0.5 1.3]"),
    ("<Figure size 640x480 with 1 Axes>", "<Figure size 640x480 with 2 Axes>"),
    ("ValueError: bad input 5", "ValueError: bad input 6"),
    ("mean_fit_time  0.012  0.013", "mean_fit_time  0.014  0.013"),
    ("0x1f", "0x2f"),  # short hex is a value, not an address
    # a report header's stamp is masked, the statistics beside it are not
    ("Time:                        21:28:27   Log-Likelihood:   -102.04",
     "Time:                        21:28:27   Log-Likelihood:   -103.04"),
    ("2026-01-01 21:28:27    0.5", "2026-01-01 21:28:28    0.5"),  # a timestamp in data is data
])
def test_real_differences_survive(a: str, b: str) -> None:
    assert mask(a) != mask(b), (a, b, mask(a))


def test_run_folder_is_masked() -> None:
    roots = ["/scratch/run-1/nb"]
    assert mask("saved to /scratch/run-1/nb/out.csv", roots) == mask("saved to /scratch/run-2/nb/out.csv",
                                                                      ["/scratch/run-2/nb"])


def test_every_rule_is_documented() -> None:
    doc = masking.__doc__ or ""
    for rule in masking.RULES:
        assert f"``{rule.name}``" in doc, rule.name


def _cell(*outputs: dict) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _result(text: str, image: bool = False) -> dict:
    data = {"text/plain": text}
    if image:
        data["image/png"] = "iVBORw0KGgo="
    return {"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": 1}


def test_views_compare_each_channel() -> None:
    base = _cell(_stream("stdout", "score 0.9\n"), _stream("stderr", "warn\n"), _result("<Figure>", image=True))
    assert compare_views(cell_view(base), cell_view(base)) == []
    cases = {
        "stdout": _cell(_stream("stdout", "score 0.8\n"), _stream("stderr", "warn\n"), _result("<Figure>", image=True)),
        "stderr": _cell(_stream("stdout", "score 0.9\n"), _stream("stderr", "other\n"), _result("<Figure>", image=True)),
        "output 1 text/plain": _cell(_stream("stdout", "score 0.9\n"), _stream("stderr", "warn\n"),
                                     _result("<Figure 2>", image=True)),
        "output 1 image": _cell(_stream("stdout", "score 0.9\n"), _stream("stderr", "warn\n"), _result("<Figure>")),
        "outputs": _cell(_stream("stdout", "score 0.9\n"), _stream("stderr", "warn\n")),
        "error": _cell(_stream("stdout", "score 0.9\n"), _stream("stderr", "warn\n"), _result("<Figure>", image=True),
                       {"output_type": "error", "ename": "KeyError", "evalue": "'a'", "traceback": []}),
    }
    for what, other in cases.items():
        diffs = compare_views(cell_view(base), cell_view(other))
        assert [d["what"] for d in diffs] == [what], (what, diffs)


def test_image_content_counts_only_when_asked() -> None:
    a = _cell({"output_type": "display_data", "data": {"text/plain": "<Figure>", "image/png": "AAAA"}, "metadata": {}})
    b = _cell({"output_type": "display_data", "data": {"text/plain": "<Figure>", "image/png": "BBBB"}, "metadata": {}})
    assert compare_views(cell_view(a), cell_view(b)) == []
    assert [d["what"] for d in compare_views(cell_view(a), cell_view(b), image_content=True)] == ["output 1 image content"]
    assert compare_views(cell_view(a), cell_view(a), image_content=True) == []


def test_notelock_lines_are_taken_apart() -> None:
    cell = _cell(_stream("stderr", "a warning\nnotelock: df: hashed by pickle: x.Y\n"))
    view = cell_view(cell)
    assert view["stderr"] == "a warning\n"
    assert view["notelock"] == ["notelock: df: hashed by pickle: x.Y"]
    # a notelock line is not a difference in stderr, it is a finding of its own
    assert compare_views(cell_view(_cell(_stream("stderr", "a warning\n"))), view) == []


def test_stream_chunks_are_joined() -> None:
    one = _cell(_stream("stdout", "a\nb\n"))
    two = _cell(_stream("stdout", "a\n"), _stream("stdout", "b\n"))
    assert compare_views(cell_view(one), cell_view(two)) == []
