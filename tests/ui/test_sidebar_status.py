"""The Lock sidebar answers "what changed, and where did this data come from?"
without misleading — in Debian's chromium against a real JupyterLab, at the
sidebar's default width.

One JupyterLab for the module; the tests run in order on one page, as a user
would: Run All and save; edit a cell and run it without saving; follow a
model to its CSV; read the graph; move with the keyboard; check contrast in
the light and dark themes; change the CSV and replay.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time

import pytest
from sidebar_browser import colour_function, open_and_run_all
from test_sidebar import (
    CHROMIUM,
    CHROMIUM_ARGS,
    IMAGES,
    LOCK,
    NOTEBOOK,
    NOTEBOOKS,
    Lab,
    _commit,
    _installed_labextension,
    _replay_cli_available,
    _require_chromium,
    _set_max_depth,
    _use_theme,
)

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.kernel]

PANEL = "#notelock-lock-panel"

#: WCAG 2 contrast of every visible text in the panel against the background
#: it is drawn on (ancestors' backgrounds blended, colours in any CSS syntax
#: resolved by the browser itself through a canvas). Returns the failures.
CONTRAST_JS = colour_function("root", """
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const failures = [];
  let checked = 0;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode;
    const el = text.parentElement;
    if (!text.textContent.trim() || !el || el.closest('svg, details:not([open]) > :not(summary)')) continue;
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!rect.width || !rect.height || style.visibility === 'hidden') continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    const bg = background(el);
    const fg = over(rgba(style.color).slice(0, 3).concat([rgba(style.color)[3] * opacity]), bg);
    const ratio = contrast(fg, bg);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight) >= 700);
    checked++;
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${ratio.toFixed(2)}:1 "${text.textContent.trim().slice(0, 40)}" (${el.className})`);
    }
  }
  return { checked, failures };
""")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_chromium()
    extension = _installed_labextension()
    assert not extension.is_symlink(), f"{extension} is a development link, not the installed extension"
    tmp = tmp_path_factory.mktemp("ui-status")
    root = tmp / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns("*.lock.json", ".notelock", "*.csv", "*.db",
                                                                   ".ipynb_checkpoints"))
    _commit(root)
    server = Lab(root, tmp)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(lab):
    """The example notebook, every cell run and saved, the Lock sidebar open at its default width."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1150}, device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(60_000)
        lock_requests: list[float] = []
        page.on("request", lambda r: lock_requests.append(time.monotonic()) if "/notelock/lock?" in r.url else None)
        page.lock_requests = lock_requests  # type: ignore[attr-defined]
        open_and_run_all(page, lab, NOTEBOOK)
        panel = page.locator(PANEL)
        expect(panel.locator(".jp-notelock-node[data-op='predict']")).to_have_count(1, timeout=30_000)
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Control+s")
        yield page
        context.close()
        browser.close()


def _lock(lab) -> dict:
    return json.loads((lab.root / LOCK).read_text(encoding="utf-8"))


def _nbstripout_checksum(path) -> str:
    out = subprocess.run([sys.executable, "-m", "nbstripout", "-t", str(path)], capture_output=True, check=True).stdout
    return hashlib.sha1(b"blob %d\0" % len(out) + out).hexdigest()  # noqa: S324 - git's blob id


def _metadata_fields(before: dict, after: dict) -> list[str]:
    """Dotted metadata keys (two levels) whose values differ, computed here independently."""
    fields = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and a and b:
            fields += [f"metadata.{key}.{sub}" for sub in sorted(set(a) | set(b)) if a.get(sub) != b.get(sub)]
        elif a != b:
            fields.append(f"metadata.{key}")
    return fields


def test_a_save_after_run_all_is_never_code_changed(lab, page):
    from playwright.sync_api import expect

    panel = page.locator(PANEL)
    status = panel.locator(".jp-notelock-status")
    page.wait_for_timeout(1500)  # the save's refresh
    expect(status).not_to_have_attribute("data-status", "code changed")
    lock = _lock(lab)
    saved = json.loads((lab.root / NOTEBOOK).read_text(encoding="utf-8"))
    original = json.loads((NOTEBOOKS / NOTEBOOK).read_text(encoding="utf-8"))
    # workflow.checksum stays exactly nbstripout's hash of the file the lock saw
    if lock["workflow"]["checksum"] == _nbstripout_checksum(lab.root / NOTEBOOK):
        expect(status).to_have_text("up to date")
    else:
        # JupyterLab's save rewrote metadata (kernel display name, language info): named, not alarming
        expect(status).to_have_text("metadata changed")
        changed = _metadata_fields(original["metadata"], saved["metadata"])
        assert changed, "the checksum changed although the metadata did not"
        detail = panel.locator(".jp-notelock-status-detail").inner_text()
        assert any(field in detail for field in changed), (detail, changed)
    # every trigger of one moment sends one request (opening, loading, showing the panel, saving)
    times = page.lock_requests
    assert len(times) >= 2
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) > 0.02, gaps


def test_an_edit_run_without_saving_is_ran_unsaved_code_and_the_rerun_folds(lab, page):
    from playwright.sync_api import expect

    panel = page.locator(PANEL)
    before = {nid for nid, n in _lock(lab)["nodes"].items() if n["op"] == "fit"}
    _set_max_depth(page, "10", "5")
    expect(page.locator(".jp-Cell .jp-InputArea-editor", has_text="max_depth=5")).to_have_count(1)
    page.keyboard.press("Control+Enter")  # run in place, do not save
    status = panel.locator(".jp-notelock-status")
    expect(status).to_have_text("ran unsaved code", timeout=30_000)
    cell_number = page.locator(".jp-Notebook .jp-Cell").evaluate_all(
        "cells => cells.findIndex(c => c.textContent.includes('max_depth=5')) + 1")
    expect(panel.locator(".jp-notelock-status-detail")).to_have_text(f"not saved: cell {cell_number}")
    lock = _lock(lab)
    assert lock["workflow"]["saved"] is False
    fits = {nid for nid, n in lock["nodes"].items() if n["op"] == "fit"}
    current = [nid for nid in fits if not lock["nodes"][nid].get("superseded")]
    superseded = [nid for nid in fits if lock["nodes"][nid].get("superseded")]
    assert len(current) == 1 and set(superseded) == before
    assert lock["nodes"][current[0]]["params"]["max_depth"] == 5
    # one current row; the superseded fit folded under it, closed
    rows = panel.locator(".jp-notelock-nodes > .jp-notelock-node[data-op='fit']")
    expect(rows).to_have_count(1)
    assert rows.get_attribute("data-id") == current[0]
    fold = panel.locator(".jp-notelock-superseded", has=page.locator(f"[data-id='{superseded[0]}']"))
    expect(fold.locator("summary")).to_have_text("1 earlier run")
    expect(fold.locator(f".jp-notelock-node[data-id='{superseded[0]}']")).to_be_hidden()
    fold.locator("summary").click()
    expect(fold.locator(f".jp-notelock-node[data-id='{superseded[0]}']")).to_be_visible()
    fold.locator("summary").click()


def test_lineage_from_the_fit_to_the_csv_in_one_click(lab, page):
    from playwright.sync_api import expect

    panel = page.locator(PANEL)
    lock = _lock(lab)
    [read] = [nid for nid, n in lock["nodes"].items() if n["op"] == "read" and n.get("path") == "transactions.csv"
              and not n.get("superseded")]
    fit = panel.locator(".jp-notelock-nodes > .jp-notelock-node[data-op='fit']")
    link = fit.locator(".jp-notelock-source-link")
    expect(link).to_have_text("transactions.csv")
    assert lock["nodes"][read]["content"] in link.get_attribute("title")
    link.click()
    expect(panel.locator(f".jp-notelock-node[data-id='{read}']")).to_have_class(
        __import__("re").compile(r"jp-mod-selected"))
    expect(panel.locator(f".jp-notelock-gnode[data-id='{read}']")).to_have_class(
        __import__("re").compile(r"jp-mod-selected"))
    details = panel.locator(f".jp-notelock-details[data-id='{read}']")
    expect(details).to_contain_text("transactions.csv")
    panel.locator(f".jp-notelock-node[data-id='{read}']").click()  # close again


def test_the_graph_is_readable_at_the_default_width(lab, page):
    panel = page.locator(PANEL)
    width = panel.bounding_box()["width"]
    assert 200 <= width <= 320, f"the sidebar is {width}px wide by default"
    graph = panel.locator(".jp-notelock-graph")
    graph.scroll_into_view_if_needed()
    heights = graph.locator(".jp-notelock-gnode-title, .jp-notelock-gnode-id").evaluate_all(
        "els => els.map(e => { const svg = e.ownerSVGElement; const scale = svg.getBoundingClientRect().width /"
        " svg.viewBox.baseVal.width; return parseFloat(getComputedStyle(e).fontSize) * scale; })")
    assert heights and min(heights) >= 10, heights
    # at natural size, said so; it pans and zooms in its viewport rather than shrinking the drawing
    assert panel.locator(".jp-notelock-graph-scale").inner_text() == "100 %"
    viewport = panel.locator(".jp-notelock-graph-viewport")
    assert viewport.evaluate("el => getComputedStyle(el).overflow") == "hidden"
    assert viewport.evaluate("el => el.scrollWidth > el.clientWidth")  # wider than the sidebar: it pans


def test_keyboard_keeps_the_focus_in_the_panel(lab, page):
    from playwright.sync_api import expect

    panel = page.locator(PANEL)
    rows = panel.locator(".jp-notelock-nodes > .jp-notelock-node")
    first = rows.nth(0)
    first.focus()
    page.keyboard.press("ArrowDown")
    second_id = rows.nth(1).get_attribute("data-id")
    assert page.evaluate("() => document.activeElement.dataset.id") == second_id
    page.keyboard.press("Enter")
    expect(panel.locator(f".jp-notelock-details[data-id='{second_id}']")).to_be_visible()
    in_panel = page.evaluate(f"() => document.querySelector('{PANEL}').contains(document.activeElement)")
    assert in_panel and page.evaluate("() => document.activeElement.dataset.id") == second_id
    assert page.locator(".jp-Notebook .cm-editor.cm-focused").count() == 0
    # "Go to cell" is the separate action that moves into the notebook
    lock = _lock(lab)
    node = lock["nodes"][second_id]
    first_line = lock["cells"][node["cell"]]["source"].splitlines()[-1]
    panel.locator(".jp-notelock-reveal").click()
    expect(page.locator(".jp-Notebook .jp-Cell.jp-mod-active .jp-InputArea-editor")).to_contain_text(first_line)
    assert page.evaluate("() => !!document.activeElement.closest('.jp-Notebook')")


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_text_contrast_is_wcag_aa_in_light_and_dark(lab, page, theme):
    panel = page.locator(PANEL)
    _use_theme(page, theme)
    light = "true" if theme.endswith("Light") else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    page.wait_for_timeout(500)
    rows = panel.locator(".jp-notelock-nodes > .jp-notelock-node")
    rows.nth(2).click()  # a selected row and its details are checked too
    report = panel.evaluate(CONTRAST_JS)
    rows.nth(2).click()
    assert report["checked"] > 20
    assert not report["failures"], report["failures"]
    if theme.endswith("Dark"):
        _use_theme(page, "JupyterLab Light")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


@pytest.mark.skipif(not _replay_cli_available(), reason="the notelock CLI has no replay command in this version")
def test_drift_is_amber_with_replay_on_current_data_and_the_panel_closes(lab, page):
    from playwright.sync_api import expect

    panel = page.locator(PANEL)
    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+s")  # the edit that ran is saved now
    status = panel.locator(".jp-notelock-status")
    expect(status).not_to_have_text("ran unsaved code", timeout=30_000)
    expect(status).not_to_have_text("code changed")
    csv = lab.root / "transactions.csv"
    data = csv.read_bytes()
    csv.write_bytes(data + data.splitlines(True)[-1])  # upstream, one row more
    panel.locator(".jp-notelock-toolbar [data-command='notelock:refresh']").click()
    expect(status).to_have_text("inputs drifted", timeout=30_000)
    expect(panel.locator(".jp-notelock-status-detail")).to_contain_text("transactions.csv")
    panel.locator(".jp-notelock-toolbar").get_by_text("Replay").click()
    replay = panel.locator(".jp-notelock-replay")
    headline = replay.locator(".jp-notelock-replay-result")
    expect(headline).to_have_text("reproduced from snapshots — 1 input changed since the lock", timeout=300_000)
    assert headline.get_attribute("data-result") == "drifted"
    colour = headline.evaluate("el => getComputedStyle(el).borderLeftColor")
    warn = page.evaluate("() => { const d = document.createElement('div'); d.style.color = 'var(--jp-warn-color1)';"
                         " document.body.append(d); const c = getComputedStyle(d).color; d.remove(); return c; }")
    assert colour == warn  # amber, the theme's warning colour
    panel.locator(".jp-notelock-body").evaluate("el => el.scrollTop = 0")
    IMAGES.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(IMAGES / "sidebar-drift.png"))
    again = replay.get_by_role("button", name="Replay on current data")
    expect(again).to_be_visible()
    again.click()
    expect(replay.locator(".jp-notelock-replay-title")).to_contain_text("Replay on current data")
    # today's data has one row more: on it, the computation diverges
    expect(headline).to_have_attribute("data-result", "diverged", timeout=300_000)
    replay.get_by_role("button", name="Close the replay").click()
    expect(panel.locator(".jp-notelock-replay")).to_have_count(0)
