/**
 * Zoom and pan of the graph: the arithmetic (zoom.ts) and the view that
 * applies it (graphview.ts) to the drawing, its toolbar and its events.
 */
import { clearLayoutCache, layoutGraph } from '../src/graph';
import { GraphView } from '../src/graphview';
import {
  clampView,
  fitView,
  formatScale,
  isVisible,
  IView,
  panBy,
  resetView,
  revealBox,
  wheelFactor,
  zoomAt,
  zoomBy,
  ZOOM_LIMITS
} from '../src/zoom';
import { chainLock, FIT, loadLock, PREDICT, READ_CSV } from './fixture';

const CONTENT = { width: 400, height: 900 };
const SIDEBAR = { width: 250, height: 420 };

/** Where a drawing point lands in the viewport. */
function screen(view: IView, x: number, y: number): { x: number; y: number } {
  return { x: x * view.scale + view.x, y: y * view.scale + view.y };
}

describe('zoom: the arithmetic', () => {
  it('starts at natural size, from the top, centred across', () => {
    expect(resetView(CONTENT, SIDEBAR)).toEqual({ scale: 1, x: (250 - 400) / 2, y: 0 });
    expect(resetView({ width: 200, height: 100 }, SIDEBAR)).toEqual({ scale: 1, x: 25, y: 0 });
  });

  it('keeps the point under the pointer where it is while zooming', () => {
    const start = { scale: 1, x: -50, y: -100 };
    const at = { x: 120, y: 200 };
    // the drawing point under the pointer
    const px = (at.x - start.x) / start.scale;
    const py = (at.y - start.y) / start.scale;
    for (const factor of [1.25, 2, 3]) {
      const view = zoomAt(start, factor, at, CONTENT, SIDEBAR);
      expect(view.scale).toBeCloseTo(start.scale * factor);
      const p = screen(view, px, py);
      expect(p.x).toBeCloseTo(at.x);
      expect(p.y).toBeCloseTo(at.y);
    }
    // zooming out, the same unless the drawing would leave the viewport
    const out = zoomAt(start, 0.9, at, CONTENT, SIDEBAR);
    expect(screen(out, px, py).y).toBeCloseTo(at.y);
    const far = zoomAt(start, 0.5, at, CONTENT, SIDEBAR);
    const anchored = { scale: 0.5, x: at.x - (at.x - start.x) * 0.5, y: at.y - (at.y - start.y) * 0.5 };
    expect(far).toEqual(clampView(anchored, CONTENT, SIDEBAR));
    expect(far).not.toEqual(anchored);
  });

  it('stays within the zoom limits', () => {
    let view: IView = { scale: 1, x: 0, y: 0 };
    for (let i = 0; i < 30; i++) {
      view = zoomBy(view, ZOOM_LIMITS.step, CONTENT, SIDEBAR);
    }
    expect(view.scale).toBe(ZOOM_LIMITS.max);
    for (let i = 0; i < 60; i++) {
      view = zoomBy(view, 1 / ZOOM_LIMITS.step, CONTENT, SIDEBAR);
    }
    expect(view.scale).toBe(ZOOM_LIMITS.min);
  });

  it('a step in and a step out come back to where they started', () => {
    const start = { scale: 1, x: -40, y: -200 };
    const back = zoomBy(zoomBy(start, ZOOM_LIMITS.step, CONTENT, SIDEBAR), 1 / ZOOM_LIMITS.step, CONTENT, SIDEBAR);
    expect(back.scale).toBeCloseTo(1);
    expect(back.x).toBeCloseTo(start.x);
    expect(back.y).toBeCloseTo(start.y);
    expect(wheelFactor(100) * wheelFactor(-100)).toBeCloseTo(1);
    expect(wheelFactor(100)).toBeLessThan(1); // wheel down: out
    expect(wheelFactor(-3, 1)).toBeGreaterThan(1); // three lines up: in
    expect(wheelFactor(-100000)).toBeLessThanOrEqual(Math.exp(0.4) + 1e-9); // one event never jumps far
  });

  it('pans, but never loses the drawing', () => {
    const view = panBy({ scale: 1, x: 0, y: 0 }, -60, -300, CONTENT, SIDEBAR);
    expect(view).toEqual({ scale: 1, x: -60, y: -300 });
    // past the edges it stops: the drawing still covers the viewport
    expect(panBy(view, -10000, -10000, CONTENT, SIDEBAR)).toEqual({ scale: 1, x: 250 - 400, y: 420 - 900 });
    expect(panBy(view, 10000, 10000, CONTENT, SIDEBAR)).toEqual({ scale: 1, x: 0, y: 0 });
    // a drawing smaller than the viewport stays wholly inside it
    expect(clampView({ scale: 0.5, x: -500, y: 900 }, CONTENT, SIDEBAR)).toEqual({ scale: 0.5, x: 0, y: 0 });
    expect(clampView({ scale: 0.4, x: 500, y: 900 }, CONTENT, SIDEBAR)).toEqual({ scale: 0.4, x: 250 - 160, y: 420 - 360 });
  });

  it('fits to the width in the sidebar, wholly in the document, never below the floor', () => {
    const width = fitView(CONTENT, SIDEBAR, 'width');
    expect(width.scale).toBeCloseTo(250 / 400);
    expect(width.x).toBeCloseTo(0);
    expect(width.y).toBe(0);
    const both = fitView(CONTENT, { width: 1000, height: 600 }, 'both');
    expect(both.scale).toBeCloseTo(600 / 900);
    expect(both.x).toBeCloseTo((1000 - 400 * both.scale) / 2); // centred
    // a very wide graph: fit stops at the floor, and the toolbar says so
    const wide = fitView({ width: 4000, height: 300 }, SIDEBAR, 'width');
    expect(wide.scale).toBe(ZOOM_LIMITS.fitFloor);
    // a tiny one is magnified, up to fitMax
    expect(fitView({ width: 50, height: 30 }, SIDEBAR, 'both').scale).toBe(ZOOM_LIMITS.fitMax);
    expect(fitView({ width: 0, height: 0 }, SIDEBAR)).toEqual({ scale: 1, x: 0, y: 0 });
  });

  it('brings a box into view with the least pan, and leaves a visible one alone', () => {
    const view = { scale: 1, x: 0, y: 0 };
    const below = { x: 20, y: 700, width: 150, height: 34 };
    expect(isVisible(view, below, SIDEBAR)).toBe(false);
    const moved = revealBox(view, below, CONTENT, SIDEBAR, 12);
    expect(isVisible(moved, below, SIDEBAR)).toBe(true);
    expect(screen(moved, 0, below.y + below.height).y).toBeCloseTo(SIDEBAR.height - 12); // just enough
    expect(moved.x).toBe(0);
    const seen = { x: 20, y: 100, width: 150, height: 34 };
    expect(revealBox(view, seen, CONTENT, SIDEBAR)).toEqual(view);
    // right of the viewport, zoomed in
    const zoomed = { scale: 2, x: 0, y: 0 };
    const right = { x: 300, y: 10, width: 90, height: 34 };
    const across = revealBox(zoomed, right, CONTENT, SIDEBAR);
    expect(isVisible(across, right, SIDEBAR)).toBe(true);
    expect(across.scale).toBe(2);
  });

  it('says the scale in percent', () => {
    expect(formatScale(1)).toBe('100 %');
    expect(formatScale(0.6432)).toBe('64 %');
  });
});

/** A view of the fixture in a viewport of the given size (jsdom lays nothing out). */
function mount(size = SIDEBAR, mode: 'sidebar' | 'document' = 'sidebar') {
  const selected: [string, boolean][] = [];
  const opened: number[] = [];
  const onOpen = mode === 'sidebar' ? () => opened.push(1) : undefined;
  const view = new GraphView({ mode, onSelect: (id, keyboard) => selected.push([id, keyboard]), onOpen });
  Object.defineProperty(view.viewport, 'clientWidth', { configurable: true, get: () => size.width });
  Object.defineProperty(view.viewport, 'clientHeight', { configurable: true, get: () => size.height });
  document.body.append(view.node);
  return { view, selected, opened };
}

function button(view: GraphView, name: string): HTMLButtonElement {
  const found = Array.from(view.toolbar.querySelectorAll('button')).find(b => b.getAttribute('aria-label') === name);
  expect(found).toBeDefined();
  return found as HTMLButtonElement;
}

function key(target: Element, k: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(event);
  return event;
}

function pointer(target: Element, type: string, x: number, y: number): void {
  const event = new MouseEvent(type, { bubbles: true, cancelable: true, clientX: x, clientY: y, button: 0 });
  Object.assign(event, { pointerId: 1, isPrimary: true });
  target.dispatchEvent(event);
}

describe('zoom: the graph view', () => {
  beforeEach(() => {
    clearLayoutCache();
    document.body.textContent = '';
  });

  it('draws at natural size with a toolbar of labelled buttons that zoom, fit and reset', () => {
    const { view, opened } = mount();
    const lock = loadLock();
    view.update({ lock, selected: null, verdicts: new Map() });
    const layout = layoutGraph(lock);
    const svg = view.svg!;
    expect(Number(svg.getAttribute('width'))).toBeCloseTo(layout.width);
    expect(view.view.scale).toBe(1);
    const scale = view.toolbar.querySelector('.jp-notelock-graph-scale')!;
    expect(scale.textContent).toBe('100 %');
    for (const b of view.toolbar.querySelectorAll('button')) {
      expect(b.getAttribute('aria-label')).toBeTruthy();
      expect(b.title).toBeTruthy();
    }
    button(view, 'Zoom in').click();
    expect(view.view.scale).toBeCloseTo(1.25);
    expect(Number(svg.getAttribute('width'))).toBeCloseTo(layout.width * 1.25);
    expect(scale.textContent).toBe('125 %');
    button(view, 'Zoom out').click();
    button(view, 'Zoom out').click();
    expect(view.view.scale).toBeCloseTo(0.8);
    expect(scale.textContent).toBe('80 %');
    expect(scale.classList.contains('jp-mod-small')).toBe(true); // text under 10 px: said
    button(view, 'Fit the graph to the width').click();
    expect(view.view.scale).toBeCloseTo(Math.max(ZOOM_LIMITS.fitFloor, SIDEBAR.width / layout.width));
    button(view, 'Reset the zoom to 100 %').click();
    expect(view.view).toEqual(resetView(layout, SIDEBAR));
    expect(scale.classList.contains('jp-mod-small')).toBe(false);
    button(view, 'Open the graph in the main area').click();
    expect(opened).toEqual([1]);
  });

  it('zooms with + − 0 while it has the focus, and leaves Ctrl shortcuts alone', () => {
    const { view } = mount({ width: 250, height: 200 });
    view.update({ lock: loadLock(), selected: null, verdicts: new Map() });
    const vp = view.viewport;
    key(vp, '+');
    expect(view.view.scale).toBeCloseTo(1.25);
    key(vp, '=');
    expect(view.view.scale).toBeCloseTo(1.5625);
    key(vp, '-');
    expect(view.view.scale).toBeCloseTo(1.25);
    key(vp, '0');
    expect(view.view.scale).toBe(1);
    const ctrl = key(vp, '+', { ctrlKey: true });
    expect(ctrl.defaultPrevented).toBe(false);
    expect(view.view.scale).toBe(1);
    // the arrows pan
    const before = view.view;
    key(vp, 'ArrowDown');
    expect(view.view.y).toBeLessThan(before.y);
  });

  it('zooms around the pointer with Ctrl + wheel; a plain wheel scrolls the sidebar', () => {
    const { view } = mount();
    view.update({ lock: loadLock(), selected: null, verdicts: new Map() });
    const plain = new WheelEvent('wheel', { deltaY: 100, bubbles: true, cancelable: true });
    view.viewport.dispatchEvent(plain);
    expect(plain.defaultPrevented).toBe(false);
    expect(view.view.scale).toBe(1);
    const zoom = new WheelEvent('wheel', { deltaY: -100, ctrlKey: true, clientX: 100, clientY: 50, bubbles: true, cancelable: true });
    view.viewport.dispatchEvent(zoom);
    expect(zoom.defaultPrevented).toBe(true);
    expect(view.view.scale).toBeCloseTo(wheelFactor(-100));
  });

  it('pans with a drag, and the drag selects nothing; a click still selects', () => {
    const { view, selected } = mount({ width: 250, height: 200 });
    view.update({ lock: loadLock(), selected: null, verdicts: new Map() });
    const node = view.svg!.querySelector(`.jp-notelock-gnode[data-id="${FIT}"] rect`)!;
    const start = view.view;
    pointer(node, 'pointerdown', 100, 100);
    pointer(node, 'pointermove', 102, 101); // under the threshold: still a click
    expect(view.view).toEqual(start);
    pointer(node, 'pointermove', 60, 40);
    expect(view.viewport.classList.contains('jp-mod-panning')).toBe(true);
    pointer(node, 'pointerup', 60, 40);
    expect(view.view.y).toBeCloseTo(start.y - 60);
    expect(view.view.x).toBeCloseTo(start.x - 40);
    node.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(selected).toEqual([]);
    node.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(selected).toEqual([[FIT, false]]);
    // Enter on a focused node selects it from the keyboard
    key(view.svg!.querySelector(`.jp-notelock-gnode[data-id="${PREDICT}"]`)!, 'Enter');
    expect(selected).toEqual([[FIT, false], [PREDICT, true]]);
  });

  it('keeps the view across redraws of the same notebook, and moves only the highlight on selection', () => {
    const { view } = mount();
    view.update({ lock: loadLock(), selected: null, verdicts: new Map(), key: 'a.ipynb' });
    button(view, 'Zoom in').click();
    const zoomed = view.view;
    const svg = view.svg;
    view.update({ lock: (view as unknown as { _lock: ReturnType<typeof loadLock> })._lock, selected: READ_CSV, verdicts: new Map(), key: 'a.ipynb' });
    expect(view.svg).toBe(svg); // not drawn again
    expect(svg!.querySelector('.jp-mod-selected')!.getAttribute('data-id')).toBe(READ_CSV);
    view.update({ lock: loadLock(), selected: READ_CSV, verdicts: new Map(), key: 'a.ipynb' }); // a refresh
    expect(view.svg).not.toBe(svg);
    expect(view.view.scale).toBe(zoomed.scale);
    expect(view.svg!.querySelector('.jp-mod-selected')!.getAttribute('data-id')).toBe(READ_CSV);
    view.update({ lock: loadLock(), selected: null, verdicts: new Map(), key: 'b.ipynb' }); // another notebook
    expect(view.view.scale).toBe(1);
  });

  it('pans a node chosen elsewhere into view', () => {
    const lock = chainLock(12, 2);
    const { view } = mount();
    view.update({ lock, selected: null, verdicts: new Map() });
    const layout = layoutGraph(lock);
    const last = layout.nodes[layout.nodes.length - 1];
    const box = { x: last.x - last.width / 2, y: last.y - last.height / 2, width: last.width, height: last.height };
    expect(isVisible(view.view, box, SIDEBAR)).toBe(false);
    view.update({ lock, selected: last.id, verdicts: new Map() });
    expect(isVisible(view.view, box, SIDEBAR)).toBe(true);
    expect(view.view.scale).toBe(1);
    // at the top again, and selecting the first node brings it back
    const first = layout.nodes[0];
    view.update({ lock, selected: first.id, verdicts: new Map() });
    expect(isVisible(view.view, { x: first.x - first.width / 2, y: first.y - first.height / 2, width: first.width, height: first.height }, SIDEBAR)).toBe(true);
  });

  it('says so when there is nothing to draw', () => {
    const { view } = mount();
    view.update({ lock: null, selected: null, verdicts: new Map() });
    expect(view.viewport.textContent).toBe('Open a notebook to see its graph.');
    view.update({ lock: { notelock: 2, identity: '', cells: [], nodes: {} }, selected: null, verdicts: new Map() });
    expect(view.viewport.textContent).toBe('No nodes yet.');
    expect(view.svg).toBeNull();
  });

  it('in the document, fits the whole graph and a plain wheel pans', () => {
    const size = { width: 900, height: 200 };
    const { view } = mount(size, 'document');
    const lock = loadLock();
    view.update({ lock, selected: null, verdicts: new Map() });
    expect(view.toolbar.querySelector('.jp-notelock-graph-open')).toBeNull();
    const layout = layoutGraph(lock);
    button(view, 'Fit the whole graph').click();
    expect(view.view.scale).toBeCloseTo(Math.max(ZOOM_LIMITS.fitFloor, Math.min(size.width / layout.width, size.height / layout.height)));
    button(view, 'Reset the zoom to 100 %').click();
    const wheel = new WheelEvent('wheel', { deltaY: 120, bubbles: true, cancelable: true });
    view.viewport.dispatchEvent(wheel);
    expect(wheel.defaultPrevented).toBe(true);
    expect(view.view.y).toBeCloseTo(-Math.min(120, layout.height - size.height));
  });
});
