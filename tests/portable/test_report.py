"""``notelock report``: one self-contained page, every value escaped."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from portable_helpers import LOCK, write_data, write_notebook

from kernel_utils import run_notebook
from notelock.cli import main
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> Tags:
    tags = Tags()
    tags.feed(path.read_text(encoding="utf-8"))
    return tags


def test_report_of_a_lock_with_its_last_replay(project, tmp_path, capsys):
    lock = load_lock(project / LOCK)
    replay = subprocess.run([sys.executable, "-m", "notelock", "replay", LOCK, "--json"], cwd=project,
                            capture_output=True, text=True, timeout=600)
    assert replay.returncode == 0, replay.stderr
    (tmp_path / "replay.json").write_text(replay.stdout)
    out = tmp_path / "report.html"
    assert main(["report", str(project / LOCK), "--replay", str(tmp_path / "replay.json"), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    tags = parse(out)
    text = " ".join(tags.text)
    assert "script" not in tags.tags and not [a for a, _ in tags.attrs if a in ("src", "href")], "self-contained"
    assert "svg" in tags.tags and "rect" in tags.tags
    assert lock["identity"] in page and all(nid in page for nid in lock["nodes"])
    read = next(n for n in lock["nodes"].values() if n["op"] == "read")
    assert read["content"] in page and read["snapshot"] in page and "data.csv" in text
    assert "Offline check (when this report was made): every check passed" in text
    assert f"Last replay: exit 0 — {len(lock['nodes'])} reproduced" in text
    assert "LogisticRegression" in text and "C" in tags.text and "0.5" in tags.text
    assert lock["environment"]["packages"]["pandas"] in tags.text
    assert lock["workflow"]["checksum"] in page
    for cell in lock["cells"]:
        assert cell["source"] in text


def test_every_value_is_escaped(tmp_path, capsys):
    write_data(tmp_path / "data.csv")
    nb = write_notebook(tmp_path / "x.ipynb", [
        "%load_ext notelock", "import pandas as pd",
        '%%lock\ntitle = "<script>alert(1)</script>"\ndf = pd.read_csv("data.csv").rename(columns={"x": "<b>x</b>"})'])
    run_notebook(nb, save=False)
    out = tmp_path / "r.html"
    assert main(["report", str(nb), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    tags = parse(out)
    assert "script" not in tags.tags and "b" not in tags.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert json.loads(json.dumps(page))  # plain text, nothing binary


def test_report_of_a_pack(project, tmp_path, capsys):
    assert main(["pack", str(project / LOCK), "-o", str(tmp_path / "run.nlpack")]) == 0
    assert main(["report", str(tmp_path / "run.nlpack"), "-o", str(tmp_path / "p.html")]) == 0
    text = " ".join(parse(tmp_path / "p.html").text)
    assert "run.nlpack:small.lock.json" in text and "pack intact" not in text
    assert "every check passed" in text
    code = main(["report", str(project / LOCK), "-o", str(tmp_path / "missing" / "r.html")])
    assert code == 2 and "no such folder" in capsys.readouterr().err
