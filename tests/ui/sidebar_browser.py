"""What the browser tests of the Lock sidebar share: running the example
notebook in the page, and measuring colour contrast in it.

Imported by test_sidebar.py and test_sidebar_status.py (this folder is on
``sys.path`` when pytest imports them).
"""

from __future__ import annotations

#: JavaScript that defines ``rgba(css)`` (any CSS colour → [r, g, b, a] as the
#: browser itself resolves it, through a 1×1 canvas), ``over(top, bottom)``
#: (alpha compositing), ``lum(colour)`` (WCAG relative luminance) and
#: ``contrast(a, b)`` (the WCAG 2 ratio of two opaque colours).
COLOUR_JS = """
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const rgba = css => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (!a) return [0, 0, 0, 0];
    return [0, 1, 2].map(i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a).concat([a]);
  };
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [l1, l2] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
"""


def colour_function(params: str, body: str) -> str:
    """A JavaScript arrow function ``(params) => { … }`` with COLOUR_JS's helpers in scope."""
    return f"({params}) => {{\n{COLOUR_JS}\n{body}\n}}"


#: Every code cell has run: no prompt shows ``[*]`` or ``[ ]:``.
RUN_FINISHED_JS = (
    "() => document.querySelectorAll('.jp-InputArea-prompt').length > 0 && "
    "![...document.querySelectorAll('.jp-InputArea-prompt')].some(e => e.textContent.includes('*'))"
    " && ![...document.querySelectorAll('.jp-InputArea-prompt')].some(e => e.textContent.trim() === '[ ]:')"
)


def run_all(page) -> None:
    """Run → Run All Cells, once the kernel's connection has settled. A click
    that comes too early runs the first cell only; then every other code cell
    is still ``[ ]:`` (not queued), and the click is repeated."""
    page.wait_for_timeout(3000)
    for _ in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
                                   ".every(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: not every cell was queued
            continue
    raise AssertionError("Run All Cells did not queue every cell")


def open_and_run_all(page, lab, notebook: str) -> None:
    """Open *notebook* in *page*, open the Lock sidebar (no lock yet), Run All
    and wait until every cell has run."""
    from playwright.sync_api import expect

    page.goto(f"{lab.url}/lab/tree/{notebook}?token={lab.token}")
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=90_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=90_000)
    # Open the sidebar first, so the tests also see it follow the run live.
    page.locator(".lm-TabBar-tab[title='Lock']").click()
    panel = page.locator("#notelock-lock-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".jp-notelock-status")).to_have_text("no lock yet")
    run_all(page)
    page.wait_for_function(RUN_FINISHED_JS, timeout=300_000)
