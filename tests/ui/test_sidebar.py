"""The Lock sidebar in a real browser against a real JupyterLab.

Starts ``jupyter lab`` from the installed package (the extension the wheel
ships, not a development link) in a scratch copy of ``notebooks/``, opens the
example notebook in Debian's chromium through Playwright, runs every cell,
opens the Lock sidebar and checks it against the lock file on disk: nodes and
ids, Export, Replay. Screenshots of the sidebar go to docs/images/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sidebar_browser import colour_function, open_and_run_all

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
IMAGES = ROOT / "docs" / "images"
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "fraud_detection.ipynb"
LOCK = "fraud_detection.lock.json"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.kernel]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs it; missing there is a broken setup, not a skip
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _installed_labextension() -> Path:
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("labextensions"):
        candidate = Path(base) / "notelock"
        if candidate.exists():
            return candidate
    raise AssertionError("the notelock labextension is not installed (pip install the package first)")


def _replay_cli_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("notelock.cli") is not None and importlib.util.find_spec("notelock.cli.replay") is not None


def _commit(root: Path) -> None:
    """Make the scratch folder a git repository, so the header shows a commit."""
    env = dict(os.environ, GIT_AUTHOR_NAME="notelock tests", GIT_AUTHOR_EMAIL="tests@notelock.invalid",
               GIT_COMMITTER_NAME="notelock tests", GIT_COMMITTER_EMAIL="tests@notelock.invalid",
               # fixed dates: the same commit id every run, so screenshots change only with the UI
               GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "example notebooks"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)


class Lab:
    """A running ``jupyter lab`` in a scratch folder."""

    def __init__(self, root: Path, tmp: Path):
        self.root = root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        settings = tmp / "lab-settings"
        # No news toast over the sidebar in screenshots.
        news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True)
        news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ)
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
            FRAUD_ROWS="3000",
            # The run writes data files next to the notebook, so the tree is
            # dirty by the time the lock is written: record that, do not refuse.
            NOTELOCK_ALLOW_DIRTY="1",
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        env.pop("JUPYTER_TOKEN", None)
        self.log = (tmp / "lab.log").open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab",
                "--no-browser",
                "--allow-root",  # CI machines run as root
                f"--port={self.port}",
                "--ip=127.0.0.1",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={self.token}",
                "--LabApp.news_url=",
                "--ServerApp.shutdown_no_activity_timeout=900",
            ],
            cwd=root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"jupyter lab did not start in {timeout}s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_chromium()
    extension = _installed_labextension()
    assert not extension.is_symlink(), f"{extension} is a development link, not the installed extension"
    tmp = tmp_path_factory.mktemp("ui")
    root = tmp / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns("*.lock.json", ".notelock", "*.csv", "*.db",
                                                                   ".ipynb_checkpoints"))
    _commit(root)
    server = Lab(root, tmp)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(lab):
    """The example notebook in chromium, every cell run, the Lock sidebar open."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # Twice the pixels, so the screenshots in docs/ stay sharp.
        context = browser.new_context(accept_downloads=True, viewport={"width": 1500, "height": 1150}, device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_and_run_all(page, lab, NOTEBOOK)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").count() == 0
        del errors
        # Save: the lock is up to date against the saved notebook (outputs do not count).
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Control+s")
        yield page
        context.close()
        browser.close()


def _use_theme(page, theme: str) -> None:
    """Settings → Theme → *theme*, through the menus."""
    page.locator("#jp-menu-panel .lm-MenuBar-item", has_text="Settings").click()
    page.locator(".lm-Menu .lm-Menu-item", has_text="Theme").first.hover()
    page.locator(".lm-Menu .lm-Menu-item", has_text=theme).first.click()


def _lock_on_disk(lab) -> dict:
    return json.loads((lab.root / LOCK).read_text(encoding="utf-8"))


def test_sidebar_shows_the_read_fit_and_predict_nodes_of_the_lock_on_disk(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    # Live: the panel refreshed by itself after the cells ran (no reload, no click).
    expect(panel.locator(".jp-notelock-node[data-op='predict']")).to_have_count(1, timeout=30_000)
    expect(panel.locator(".jp-notelock-status")).to_have_text("up to date", timeout=30_000)
    lock = _lock_on_disk(lab)
    wanted = {nid: node for nid, node in lock["nodes"].items() if node["op"] in ("read", "fit", "predict")}
    assert {n["op"] for n in wanted.values()} == {"read", "fit", "predict"}
    for nid, node in wanted.items():
        row = panel.locator(f".jp-notelock-node[data-id='{nid}']")
        expect(row).to_be_visible()
        expect(row.locator(".jp-notelock-node-id")).to_have_text(nid)
        assert row.get_attribute("data-op") == node["op"]
    shown = panel.locator(".jp-notelock-nodes .jp-notelock-node").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(shown) == sorted(lock["nodes"])
    fit = next(nid for nid, n in wanted.items() if n["op"] == "fit")
    label = panel.locator(f".jp-notelock-node[data-id='{fit}'] .jp-notelock-node-label")
    expect(label).to_have_text("fit RandomForestClassifier")
    expect(panel.locator(".jp-notelock-identity")).to_have_text(lock["identity"].split(":")[1][:12])
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=lab.root, capture_output=True, text=True, check=True)
    assert lock["workflow"]["git"]["commit"] == head.stdout.strip()
    expect(panel.locator(".jp-notelock-commit")).to_have_text(head.stdout.strip()[:10])
    dirty = panel.locator(".jp-notelock-header .jp-notelock-badge-dirty")
    expect(dirty).to_have_count(1 if lock["workflow"]["git"].get("dirty") else 0)
    # the graph has a box per node
    expect(panel.locator(".jp-notelock-graph .jp-notelock-gnode")).to_have_count(len(lock["nodes"]))


def test_screenshots_of_the_sidebar(lab, page):
    """docs/images/: the sidebar with the graph (light theme), a node's details, dark theme."""
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    IMAGES.mkdir(parents=True, exist_ok=True)
    body = panel.locator(".jp-notelock-body")
    expect(panel.locator(".jp-notelock-graph")).to_be_visible()
    expect(panel.locator(".jp-mod-selected")).to_have_count(0)
    assert page.locator("body").get_attribute("data-jp-theme-light") == "true"
    body.evaluate("el => el.scrollTop = 0")
    panel.screenshot(path=str(IMAGES / "sidebar.png"))
    # the graph at the default width and zoom (100 %), with its zoom toolbar
    graph_view = panel.locator(".jp-notelock-graph-view")
    graph_view.scroll_into_view_if_needed()
    assert graph_view.locator(".jp-notelock-graph-scale").inner_text() == "100 %"
    graph_view.screenshot(path=str(IMAGES / "sidebar-graph.png"))
    lock = _lock_on_disk(lab)
    read = next(nid for nid, n in lock["nodes"].items() if n["op"] == "read" and n.get("path"))
    panel.locator(f".jp-notelock-node[data-id='{read}']").click()
    expect(panel.locator(".jp-notelock-schema")).to_be_visible()
    panel.locator(f".jp-notelock-node[data-id='{read}']").evaluate("el => el.scrollIntoView({block: 'start'})")
    panel.screenshot(path=str(IMAGES / "sidebar-details.png"))
    panel.locator(f".jp-notelock-node[data-id='{read}']").click()  # closes the details again
    expect(panel.locator(".jp-notelock-details")).to_have_count(0)
    # The same sidebar follows JupyterLab's dark theme.
    _use_theme(page, "JupyterLab Dark")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    body.evaluate("el => el.scrollTop = 0")
    panel.screenshot(path=str(IMAGES / "sidebar-dark.png"))
    background = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    _use_theme(page, "JupyterLab Light")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    assert background != panel.evaluate("el => getComputedStyle(el).backgroundColor")
    for name in ("sidebar.png", "sidebar-graph.png", "sidebar-details.png", "sidebar-dark.png"):
        assert (IMAGES / name).stat().st_size > 10_000


#: WCAG 2 contrast ratio of two painted colours of SVG elements, each over the
#: panel's background: ``[[selector, property], [selector, property]]`` → ratio.
SVG_CONTRAST_JS = colour_function("[panel, pairs]", """
  const base = rgba(getComputedStyle(panel).backgroundColor).slice(0, 3).concat([1]);
  const paint = ([selector, property]) => {
    if (selector === 'panel') return base;
    const el = panel.querySelector(selector);
    return over(rgba(getComputedStyle(el)[property]), base);
  };
  return pairs.map(([a, b]) => contrast(paint(a), paint(b)));
""")


def test_the_graph_draws_each_read_inside_the_box_of_its_cell(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    expect(panel.locator(".jp-notelock-status")).to_have_text("up to date", timeout=30_000)
    lock = _lock_on_disk(lab)
    expect(panel.locator(".jp-notelock-graph .jp-notelock-gnode")).to_have_count(len(lock["nodes"]))
    reads = [nid for nid, n in lock["nodes"].items() if n["op"] == "read"]
    assert len(reads) >= 2

    def box(locator) -> dict:
        # getBoundingClientRect: the same at any pan, also for a box the viewport clips
        b = locator.evaluate("e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }")
        return {"left": b[0], "top": b[1], "right": b[0] + b[2], "bottom": b[1] + b[3]}

    def inside(inner: dict, outer: dict) -> bool:
        return (inner["left"] >= outer["left"] - 0.5 and inner["right"] <= outer["right"] + 0.5
                and inner["top"] >= outer["top"] - 0.5 and inner["bottom"] <= outer["bottom"] + 0.5)

    for read in reads:
        cell = lock["nodes"][read]["cell"]
        node = panel.locator(f".jp-notelock-gnode[data-id='{read}']")
        assert node.get_attribute("data-cell") == str(cell)
        cluster = panel.locator(f".jp-notelock-gcluster[data-cell='{cell}']")
        expect(cluster).to_have_count(1)
        assert read in cluster.get_attribute("data-members").split()
        outer = box(cluster.locator(".jp-notelock-gcluster-box"))
        assert inside(box(node.locator(".jp-notelock-gnode-box")), outer), read
        # with the cell's own node, under a label naming the cell
        own = panel.locator(f".jp-notelock-gnode[data-id='{lock['cells'][cell]['node']}']")
        assert inside(box(own.locator(".jp-notelock-gnode-box")), outer)
        label = panel.locator(f".jp-notelock-gcluster-label[data-cell='{cell}']")
        expect(label).to_contain_text(f"[{lock['cells'][cell]['execution_count']}] ")
        text = box(label)
        assert inside(text, outer)
        assert text["bottom"] <= box(node.locator(".jp-notelock-gnode-box"))["top"]
        # and no node of another cell inside the box
        for other, n in lock["nodes"].items():
            if n.get("cell") != cell:
                b = box(panel.locator(f".jp-notelock-gnode[data-id='{other}'] .jp-notelock-gnode-box"))
                apart = (b["right"] <= outer["left"] or b["left"] >= outer["right"]
                         or b["bottom"] <= outer["top"] or b["top"] >= outer["bottom"])
                assert apart, (other, read)

    # a click on a read inside its box still selects it, in the list too
    read = next(nid for nid in reads if lock["nodes"][nid].get("path"))
    panel.locator(f".jp-notelock-gnode[data-id='{read}']").click()
    expect(panel.locator(f".jp-notelock-node[data-id='{read}']")).to_have_class(re.compile("jp-mod-selected"))
    expect(panel.locator(f".jp-notelock-gnode[data-id='{read}']")).to_have_class(re.compile("jp-mod-selected"))
    panel.locator(f".jp-notelock-node[data-id='{read}']").click()  # closes the details again
    expect(panel.locator(".jp-mod-selected")).to_have_count(0)

    # AA contrast of the label (4.5:1 on the box) and the box's border (3:1 on both sides), light and dark
    pairs = [[[".jp-notelock-gcluster-label", "fill"], [".jp-notelock-gcluster-box", "fill"]],
             [[".jp-notelock-gcluster-box", "stroke"], ["panel", ""]],
             [[".jp-notelock-gcluster-box", "stroke"], [".jp-notelock-gcluster-box", "fill"]]]
    for theme, light in (("JupyterLab Dark", "false"), ("JupyterLab Light", "true")):
        _use_theme(page, theme)
        page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
        page.wait_for_timeout(500)
        label, border, inner = panel.evaluate(f"el => ({SVG_CONTRAST_JS})([el, {json.dumps(pairs)}])")
        assert label >= 4.5 and border >= 3 and inner >= 3, (theme, label, border, inner)


#: The rendered height (CSS pixels, the graph's zoom included) of every text
#: of the graph in *root*, and font size × zoom (the scale the svg is drawn at).
GRAPH_TEXT_JS = """
(root) => [...root.querySelectorAll('.jp-notelock-gnode-title, .jp-notelock-gnode-id, .jp-notelock-gcluster-label')]
  .map(e => {
    const svg = e.ownerSVGElement;
    const zoom = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return { height: e.getBoundingClientRect().height, font: parseFloat(getComputedStyle(e).fontSize) * zoom };
  })
"""


def _graph_text(locator) -> tuple[float, float]:
    """The smallest rendered text height and font size × zoom of the graph in *locator*."""
    texts = locator.evaluate(GRAPH_TEXT_JS)
    assert texts
    return min(t["height"] for t in texts), min(t["font"] for t in texts)


def test_the_graph_is_readable_at_250_px_and_zooms_and_pans(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    width = panel.bounding_box()["width"]
    assert 240 <= width <= 260, f"the sidebar is {width}px wide by default"
    view = panel.locator(".jp-notelock-graph-view")
    view.scroll_into_view_if_needed()
    scale = view.locator(".jp-notelock-graph-scale")
    expect(scale).to_have_text("100 %")
    # the default view: natural size, every text at least 10 px high on screen
    height, font = _graph_text(view)
    assert height >= 10 and font >= 10, (height, font)
    # the zoom buttons change the rendered text, the readout says the scale
    view.get_by_role("button", name="Zoom in").click()
    expect(scale).to_have_text("125 %")
    bigger, _ = _graph_text(view)
    assert bigger > height * 1.15, (bigger, height)
    view.get_by_role("button", name="Zoom out").click()
    view.get_by_role("button", name="Zoom out").click()
    expect(scale).to_have_text("80 %")
    smaller, _ = _graph_text(view)
    assert smaller < height * 0.9, (smaller, height)
    expect(scale).to_have_class(re.compile("jp-mod-small"))  # text under 10 px is said
    view.get_by_role("button", name="Reset the zoom to 100 %").click()
    expect(scale).to_have_text("100 %")
    assert abs(_graph_text(view)[0] - height) < 0.5
    # fit to the width: explicit, never under the floor, and the readout says how small
    view.get_by_role("button", name="Fit the graph to the width").click()
    fitted = int(scale.inner_text().split()[0])
    assert 50 <= fitted <= 100, fitted
    if fitted < 100:
        assert "smaller than 10 px" in scale.get_attribute("title")
    # the focus stayed in the panel, on the button
    assert page.evaluate("() => document.querySelector('#notelock-lock-panel').contains(document.activeElement)")
    # the keys + − 0 while the graph has the focus
    viewport = view.locator(".jp-notelock-graph-viewport")
    viewport.focus()
    page.keyboard.press("0")
    expect(scale).to_have_text("100 %")
    page.keyboard.press("+")
    expect(scale).to_have_text("125 %")
    page.keyboard.press("-")
    expect(scale).to_have_text("100 %")
    # Ctrl + wheel zooms around the pointer
    box = viewport.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -150)
    page.keyboard.up("Control")
    expect(scale).not_to_have_text("100 %")
    assert int(scale.inner_text().split()[0]) > 100
    page.keyboard.press("0")
    expect(scale).to_have_text("100 %")
    # a drag pans the drawing and selects nothing
    before = viewport.evaluate("el => [el.scrollLeft, el.scrollTop]")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 30, y - 10, steps=5)
    page.mouse.move(x - 80, y - 20, steps=5)
    page.mouse.up()
    after = viewport.evaluate("el => [el.scrollLeft, el.scrollTop]")
    assert after[0] > before[0], (before, after)
    expect(panel.locator(".jp-mod-selected")).to_have_count(0)
    page.keyboard.press("0")


def test_selecting_a_node_brings_it_into_view_in_the_graph(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    viewport = panel.locator(".jp-notelock-graph-viewport")
    lock = _lock_on_disk(lab)

    def shown(nid: str) -> bool:
        return viewport.evaluate(
            "(vp, id) => { const n = [...vp.querySelectorAll('.jp-notelock-gnode')].find(e => e.dataset.id === id);"
            " const a = n.getBoundingClientRect(), b = vp.getBoundingClientRect();"
            " return a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }",
            nid,
        )

    # at 100 % in a 250 px sidebar some nodes are outside the viewport; choosing one in the list pans to it
    expect(panel.locator(".jp-notelock-graph-scale")).to_have_text("100 %")
    hidden = [nid for nid in lock["nodes"] if not shown(nid)]
    assert hidden
    for nid in hidden[:2]:
        panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{nid}'] .jp-notelock-node-id").click()
        expect(panel.locator(f".jp-notelock-gnode[data-id='{nid}']")).to_have_class(re.compile("jp-mod-selected"))
        page.wait_for_function(
            "id => { const vp = document.querySelector('#notelock-lock-panel .jp-notelock-graph-viewport');"
            " const n = [...vp.querySelectorAll('.jp-notelock-gnode')].find(e => e.dataset.id === id);"
            " const a = n.getBoundingClientRect(), b = vp.getBoundingClientRect();"
            " return a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }",
            arg=nid,
        )
        panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{nid}'] .jp-notelock-node-id").click()  # close
    expect(panel.locator(".jp-mod-selected")).to_have_count(0)
    panel.locator(".jp-notelock-graph-reset").click()


def test_open_graph_shows_it_in_the_main_area_with_the_selection_shared(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    lock = _lock_on_disk(lab)
    fit = next(nid for nid, n in lock["nodes"].items() if n["op"] == "fit")
    read = next(nid for nid, n in lock["nodes"].items() if n["op"] == "read" and n.get("path"))
    panel.get_by_role("button", name="Open the graph in the main area").click()
    document = page.locator(".jp-MainAreaWidget .jp-notelock-graph-document")
    expect(document).to_be_visible()
    expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text="Lock graph")).to_have_count(1)
    expect(document.locator(".jp-notelock-gnode")).to_have_count(len(lock["nodes"]))
    # sized to the main area, not to the sidebar
    size = document.locator(".jp-notelock-graph-viewport").bounding_box()
    assert size["width"] > 600 and size["height"] > 400, size
    height, _ = _graph_text(document)
    assert height >= 10
    # a node clicked there is the node selected in the sidebar's list (and its graph)
    document.locator(f".jp-notelock-gnode[data-id='{fit}']").click()
    expect(panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{fit}']")).to_have_class(
        re.compile("jp-mod-selected"))
    expect(panel.locator(f".jp-notelock-details[data-id='{fit}']")).to_be_visible()
    expect(panel.locator(f".jp-notelock-gnode[data-id='{fit}']")).to_have_class(re.compile("jp-mod-selected"))
    expect(document.locator(f".jp-notelock-gnode[data-id='{fit}']")).to_have_class(re.compile("jp-mod-selected"))
    # and the other way round
    panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{read}'] .jp-notelock-node-id").click()
    expect(document.locator(f".jp-notelock-gnode[data-id='{read}']")).to_have_class(re.compile("jp-mod-selected"))
    expect(document.locator(".jp-notelock-gnode.jp-mod-selected")).to_have_count(1)
    # its own zoom, the same controls
    document.get_by_role("button", name="Zoom in").click()
    expect(document.locator(".jp-notelock-graph-scale")).to_have_text("125 %")
    expect(panel.locator(".jp-notelock-graph-scale")).to_have_text("100 %")
    document.get_by_role("button", name="Fit the whole graph").click()
    expect(document.locator(".jp-notelock-graph-scale")).not_to_have_text("125 %")
    # opening it again brings the same document to the front
    page.locator(".lm-TabBar-tab", has_text=NOTEBOOK).first.click()
    expect(document).to_be_hidden()
    panel.get_by_role("button", name="Open the graph in the main area").click()
    expect(document).to_be_visible()
    expect(page.locator(".jp-notelock-graph-document")).to_have_count(1)
    expect(page.locator(".lm-TabBar-tab", has_text="Lock graph")).to_have_count(1)
    page.screenshot(path=str(IMAGES / "graph-document.png"))
    panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{read}'] .jp-notelock-node-id").click()  # closes
    expect(document.locator(".jp-notelock-gnode.jp-mod-selected")).to_have_count(0)
    # it closes cleanly; the sidebar goes on
    page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    expect(page.locator(".jp-notelock-graph-document")).to_have_count(0)
    panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{read}'] .jp-notelock-node-id").click()
    expect(panel.locator(f".jp-notelock-gnode[data-id='{read}']")).to_have_class(re.compile("jp-mod-selected"))
    panel.locator(f".jp-notelock-nodes .jp-notelock-node[data-id='{read}'] .jp-notelock-node-id").click()
    expect(panel.locator(".jp-mod-selected")).to_have_count(0)
    page.locator(".lm-TabBar-tab", has_text=NOTEBOOK).first.click()


def test_clicking_a_node_shows_details_and_selects_its_cell(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    lock = _lock_on_disk(lab)
    fit = next(nid for nid, n in lock["nodes"].items() if n["op"] == "fit")
    # the row's title (its "from transactions.csv" link selects the source instead)
    panel.locator(f".jp-notelock-node[data-id='{fit}'] .jp-notelock-node-label").click()
    details = panel.locator(f".jp-notelock-details[data-id='{fit}']")
    expect(details).to_be_visible()
    expect(details.locator(".jp-notelock-params")).to_contain_text("n_estimators")
    active = page.locator(".jp-Notebook .jp-Cell.jp-mod-active .jp-InputArea-editor")
    expect(active).to_contain_text("model.fit(train[features]")


def test_export_downloads_exactly_the_lock_file_and_says_so(lab, page, tmp_path):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    panel.locator(".jp-notelock-toolbar").get_by_text("Export").click()
    with page.expect_download() as info:
        page.locator(".jp-notelock-export-menu").get_by_text("Lock file (.lock.json)").click()
    download = info.value
    assert download.suggested_filename == LOCK
    target = tmp_path / LOCK
    download.save_as(target)
    assert target.read_bytes() == (lab.root / LOCK).read_bytes()
    expect(page.get_by_text(f"Exported {LOCK}")).to_be_visible()


def test_export_pack_and_report_download_or_say_the_server_lacks_them(lab, page):
    """The pack and report routes come with another part of notelock: without them, one clear toast."""
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    for item, what in (("Pack (.nlpack)", "pack"), ("Audit report (.html)", "audit report")):
        route = "pack" if what == "pack" else "report"
        url = f"{lab.url}/notelock/{route}?path={NOTEBOOK}&token={lab.token}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - the local test server
                served = r.status == 200
        except urllib.error.HTTPError as err:
            served = err.code != 404
        panel.locator(".jp-notelock-toolbar").get_by_text("Export").click()
        if served:
            with page.expect_download():
                page.locator(".jp-notelock-export-menu").get_by_text(item).click()
            expect(page.get_by_text("Exported ").last).to_be_visible()
        else:
            page.locator(".jp-notelock-export-menu").get_by_text(item).click()
            expect(page.get_by_text(f"Export {what}: not available in this server version")).to_be_visible()


@pytest.mark.skipif(not _replay_cli_available(), reason="the notelock CLI has no replay command in this version")
def test_replay_from_the_sidebar_reproduces(lab, page):
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    panel.locator(".jp-notelock-toolbar").get_by_text("Replay").click()
    replay = panel.locator(".jp-notelock-replay")
    expect(replay).to_be_visible()
    expect(replay.locator(".jp-notelock-replay-result")).to_have_text("reproduced", timeout=300_000)
    lock = _lock_on_disk(lab)
    expect(replay.locator(".jp-notelock-verdict-row")).to_have_count(len(lock["nodes"]))
    assert replay.locator(".jp-mod-diverged").count() == 0
    body = panel.locator(".jp-notelock-body")
    body.evaluate("el => el.scrollTop = 0")
    panel.screenshot(path=str(IMAGES / "sidebar-replay.png"))


def test_diff_compares_with_any_lock_file_in_the_main_area(lab, page):
    from playwright.sync_api import expect

    (lab.root / "baseline").mkdir(exist_ok=True)
    shutil.copy(lab.root / LOCK, lab.root / "baseline" / LOCK)
    panel = page.locator("#notelock-lock-panel")
    panel.locator(".jp-notelock-toolbar").get_by_text("Diff…").click()
    choice = page.locator(".jp-Dialog .jp-notelock-diff-choice")
    expect(choice).to_be_visible()
    # one session so far: nothing kept yet, so "before" asks for a lock file
    choice.get_by_label("Before").select_option(label="Another lock file…")
    page.locator(".jp-Dialog").get_by_role("button", name="Compare").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-DirListing-item", has_text="baseline").dblclick()
    dialog.locator(".jp-DirListing-item", has_text=LOCK).click()
    dialog.get_by_role("button", name="Select").click()
    document = page.locator(".jp-MainAreaWidget .jp-notelock-diff-document")
    expect(document.locator(".jp-notelock-diff-title")).to_have_text(f"baseline/{LOCK} → {LOCK}")
    expect(document.locator(".jp-notelock-diff-summary")).to_have_text(
        "Identical computations: same identity, every result the same."
    )
    page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    expect(document).to_have_count(0)


def test_commands_are_in_the_palette(lab, page):
    from playwright.sync_api import expect

    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+Shift+c")
    palette = page.locator("#command-palette")
    expect(palette).to_be_visible()
    palette.locator("input").fill("notelock")
    expect(palette.locator(".lm-CommandPalette-item", has_text="notelock: show lock")).to_have_count(1)
    labels = palette.locator(".lm-CommandPalette-itemLabel").all_inner_texts()
    for label in ("notelock: show lock", "notelock: replay", "notelock: export", "notelock: export pack",
                  "notelock: export audit report", "notelock: diff…"):
        assert labels.count(label) == 1, (label, labels)
    palette.locator(".lm-CommandPalette-item", has_text="notelock: show lock").click()
    expect(page.locator("#notelock-lock-panel")).to_be_visible()
    expect(page.locator("#notelock-lock-panel .jp-notelock-node")).not_to_have_count(0)


def _restart_kernel(lab) -> None:
    """Restart the notebook's kernel through Jupyter's REST API (as the toolbar's restart does)."""
    with urllib.request.urlopen(f"{lab.url}/api/sessions?token={lab.token}", timeout=30) as r:  # noqa: S310
        [session] = json.loads(r.read())
    request = urllib.request.Request(f"{lab.url}/api/kernels/{session['kernel']['id']}/restart?token={lab.token}",
                                     method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=120) as r:  # noqa: S310 - the local test server
        assert r.status == 200


def _set_max_depth(page, old: str, new: str) -> None:
    """Edit ``max_depth=<old>`` to ``<new>`` in the fit cell, with the keyboard."""
    editors = page.locator(".jp-Cell .jp-InputArea-editor")
    index = editors.evaluate_all(f"els => els.findIndex(e => e.textContent.includes('max_depth={old}'))")
    editor = editors.nth(index)
    editor.locator(".cm-line", has_text=f"max_depth={old}").click()
    page.keyboard.press("End")
    for _ in range(len(", random_state=42)")):
        page.keyboard.press("ArrowLeft")
    for _ in old:
        page.keyboard.press("Backspace")
    page.keyboard.type(new)


def test_diff_defaults_to_the_previous_run_and_reads_before_to_after(lab, page):
    """Change max_depth 10 → 5, save, restart and run all: Diff offers ~1 → now and says 10 → 5."""
    from playwright.sync_api import expect

    panel = page.locator("#notelock-lock-panel")
    before = _lock_on_disk(lab)["run"].get("session")
    _set_max_depth(page, "10", "5")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    _restart_kernel(lab)  # a new kernel session: its lock replaces this one, which is kept as ~1
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=90_000)
    lock_file = lab.root / LOCK
    for _attempt in range(3):
        page.wait_for_timeout(2000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        deadline = time.monotonic() + 60
        while _lock_on_disk(lab)["run"].get("session") == before and time.monotonic() < deadline:
            time.sleep(1)  # the new kernel session writes its first lock
        if _lock_on_disk(lab)["run"].get("session") != before:
            break
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputArea-prompt')].some(e => e.textContent.includes('*'))",
        timeout=300_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=60_000)
    assert lock_file.exists()
    proc = subprocess.run([sys.executable, "-m", "notelock", "log", NOTEBOOK], cwd=lab.root, capture_output=True,
                          text=True, check=True)
    assert f"{LOCK}~1" in proc.stdout, proc.stdout
    expect(panel.locator(".jp-notelock-node[data-op='fit']")).to_have_count(1, timeout=60_000)
    panel.locator(".jp-notelock-toolbar").get_by_text("Diff…").click()
    choice = page.locator(".jp-Dialog .jp-notelock-diff-choice")
    assert choice.get_by_label("Before").input_value() == f"{LOCK}~1"
    assert choice.get_by_label("After").input_value() == LOCK
    page.locator(".jp-Dialog").get_by_role("button", name="Compare").click()
    document = page.locator(".jp-MainAreaWidget .jp-notelock-diff-document")
    expect(document.locator(".jp-notelock-diff-title")).to_have_text(f"{LOCK}~1 → {LOCK}")
    params = document.locator(".jp-notelock-diff-params")
    expect(params).to_contain_text("max_depth: 10 → 5")
    sections = document.locator(".jp-notelock-diff-section h4").all_inner_texts()
    assert sections.index("Parameters") < sections.index("Changed nodes"), sections
    assert "removed" not in document.locator(".jp-notelock-diff-summary").inner_text()
    if document.locator(".jp-notelock-diff-code").count():
        expect(document.locator(".jp-notelock-diff-line.jp-mod-add", has_text="max_depth=5")).to_have_count(1)
        expect(document.locator(".jp-notelock-diff-line.jp-mod-del", has_text="max_depth=10")).to_have_count(1)
    page.screenshot(path=str(IMAGES / "diff.png"))
    page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    expect(document).to_have_count(0)
