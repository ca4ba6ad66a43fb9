/**
 * The graph in a viewport that zooms and pans, with its toolbar: used by the
 * sidebar (fit means fit to its width) and by the graph document in the main
 * area (fit means the whole graph).
 *
 * Drawn at natural size (100 %: text 10–11 px) until the user zooms. Zoom:
 * the toolbar's − and +, Ctrl/⌘ + wheel (or a pinch) around the pointer, the
 * keys + − 0 while the graph has the focus. Pan: drag with a mouse, a pen or
 * a finger, the arrow keys, and in the document also the wheel. The toolbar
 * always says the scale. The element outlives the panel's re-renders, so the
 * view stays where the user left it. A drawing larger than its viewport is
 * scrolled (scrollbars hidden), a smaller one placed, so the browser's own
 * scrolling (a focused node, scrollIntoView) moves the same view.
 */
import { h } from './dom';
import { layoutGraph, renderGraph } from './graph';
import { graphSvg } from './icons';
import { ILock, INodeVerdict } from './tokens';
import {
  clampView,
  fitView,
  formatScale,
  isVisible,
  ISize,
  IView,
  panBy,
  resetView,
  revealBox,
  wheelFactor,
  zoomAt,
  zoomBy,
  ZOOM_LIMITS
} from './zoom';

export interface IGraphViewOptions {
  /** `'sidebar'`: fit to width, the wheel scrolls the sidebar; `'document'`: fit all, the wheel pans. */
  mode: 'sidebar' | 'document';
  /** A node was chosen, by a click (`keyboard` false) or Enter / Space. */
  onSelect: (id: string, keyboard: boolean) => void;
  /** With it, the toolbar offers "Open graph" (the sidebar's). */
  onOpen?: () => void;
}

export interface IGraphState {
  lock: ILock | null;
  selected: string | null;
  verdicts: Map<string, INodeVerdict>;
  /** Whose lock (the notebook's path): another key starts at 100 % again. */
  key?: string | null;
}

/** How far a pointer moves before a press becomes a drag (not a click). */
const DRAG_THRESHOLD = 4;
/** The arrow keys pan by this many pixels. */
const KEY_PAN = 40;
/** The sidebar's viewport is as tall as the graph at its scale, within these. */
const SIDEBAR_HEIGHT = { min: 120, max: 420 };

export class GraphView {
  constructor(options: IGraphViewOptions) {
    this._options = options;
    const button = (cls: string, label: string, title: string, text: string, action: () => void) => {
      const el = h('button', { class: `${cls} jp-notelock-graph-button`, type: 'button', 'aria-label': label, title }, text);
      el.addEventListener('click', action);
      return el;
    };
    this._scale = h('output', { class: 'jp-notelock-graph-scale', 'aria-live': 'polite' }, formatScale(1));
    const fitLabel = options.mode === 'sidebar' ? 'Fit the graph to the width' : 'Fit the whole graph';
    this.toolbar = h(
      'div',
      { class: 'jp-notelock-graph-toolbar', role: 'group', 'aria-label': 'Graph view' },
      button('jp-notelock-graph-zoomout', 'Zoom out', 'Zoom out (−)', '−', () => this.zoomOut()),
      this._scale,
      button('jp-notelock-graph-zoomin', 'Zoom in', 'Zoom in (+)', '+', () => this.zoomIn()),
      button('jp-notelock-graph-fit', fitLabel, fitLabel, 'Fit', () => this.fit()),
      button('jp-notelock-graph-reset', 'Reset the zoom to 100 %', 'Natural size, 100 % (0)', '1:1', () => this.reset())
    );
    if (options.onOpen) {
      const open = button('jp-notelock-graph-open', 'Open the graph in the main area', 'Open the graph in the main area', '', options.onOpen);
      const glyph = h('span', { class: 'jp-notelock-graph-open-icon', 'aria-hidden': 'true' });
      glyph.innerHTML = graphSvg; // a constant of this extension
      open.append(glyph, h('span', {}, 'Open'));
      this.toolbar.append(open);
    }
    this.viewport = h('div', {
      class: 'jp-notelock-graph-viewport',
      tabindex: '0',
      role: 'group',
      'aria-label': 'Graph: drag to pan, Ctrl or ⌘ with the wheel, or the keys + − and 0, to zoom',
      'aria-roledescription': 'zoomable graph'
    });
    this.node = h('div', { class: 'jp-notelock-graph-view', 'data-mode': options.mode }, this.toolbar, this.viewport);
    this._listen();
  }

  /** The whole view: the toolbar above the viewport. */
  readonly node: HTMLElement;
  readonly toolbar: HTMLElement;
  /** The element that holds the focus, the pointer and the drawing. */
  readonly viewport: HTMLElement;

  get view(): IView {
    return { ...this._view };
  }

  /** The drawing's size at 100 %. */
  get content(): ISize {
    return { ...this._content };
  }

  /** The svg shown (null before a lock with nodes). */
  get svg(): SVGSVGElement | null {
    return this._svg;
  }

  /** Show this state: draws again when the lock or the verdicts changed, else only moves the highlight. */
  update(state: IGraphState): void {
    const verdictKey = JSON.stringify([...state.verdicts].map(([id, v]) => [id, v.verdict]));
    const redraw = state.lock !== this._lock || verdictKey !== this._verdictKey;
    if (state.key !== this._key) {
      this._key = state.key;
      this._touched = false;
    }
    if (redraw) {
      this._lock = state.lock;
      this._verdictKey = verdictKey;
      this._draw(state);
    } else if (state.selected !== this._selected) {
      this._svg?.querySelectorAll('.jp-notelock-gnode.jp-mod-selected').forEach(el => el.classList.remove('jp-mod-selected'));
      this._nodeElement(state.selected)?.classList.add('jp-mod-selected');
    }
    const moved = state.selected !== this._selected;
    this._selected = state.selected;
    if (moved && state.selected) {
      this.reveal(state.selected);
    }
    if (!redraw) {
      this._apply(this._view, false); // the element may have been detached and attached again
    }
  }

  zoomIn(): void {
    this._apply(zoomBy(this._view, ZOOM_LIMITS.step, this._content, this._size()));
  }

  zoomOut(): void {
    this._apply(zoomBy(this._view, 1 / ZOOM_LIMITS.step, this._content, this._size()));
  }

  /** Fit to the width (sidebar) or wholly (document); never below `ZOOM_LIMITS.fitFloor`. */
  fit(): void {
    this._apply(fitView(this._content, this._size(), this._options.mode === 'sidebar' ? 'width' : 'both'));
  }

  /** 100 %: natural size. */
  reset(): void {
    this._apply(resetView(this._content, this._size()));
  }

  /** Any view, clamped to keep the drawing in sight. */
  setView(view: IView): void {
    this._apply(clampView(view, this._content, this._size()));
  }

  /** Pan, at the same scale, until the node shows whole (if it does not already). */
  reveal(id: string, byUser = true): void {
    const node = this._lock ? layoutGraph(this._lock).nodes.find(n => n.id === id) : undefined;
    const size = this._size();
    if (!node || !size.width || !size.height) {
      return;
    }
    const box = { x: node.x - node.width / 2, y: node.y - node.height / 2, width: node.width, height: node.height };
    if (!isVisible(this._view, box, size)) {
      this._apply(revealBox(this._view, box, this._content, size), byUser);
    }
  }

  /** The viewport's size changed (the widget resized or became visible). */
  resized(): void {
    const size = this._size();
    if (!size.width || !size.height) {
      return;
    }
    if (this._touched) {
      this._apply(clampView(this._view, this._content, size), false);
    } else {
      this._initialView();
    }
  }

  dispose(): void {
    this._observer?.disconnect();
    this._observer = null;
    this.node.remove();
  }

  private _draw(state: IGraphState): void {
    this.viewport.textContent = '';
    this._svg = null;
    const lock = state.lock;
    if (!lock || !Object.keys(lock.nodes).length) {
      this._content = { width: 0, height: 0 };
      this.viewport.append(h('p', { class: 'jp-notelock-graph-empty' }, lock ? 'No nodes yet.' : 'Open a notebook to see its graph.'));
      this._applyScale();
      return;
    }
    const svg = renderGraph(lock, { selected: state.selected, verdicts: state.verdicts });
    const layout = layoutGraph(lock); // the one renderGraph used: cached
    this._content = { width: layout.width, height: layout.height };
    this._svg = svg;
    this.viewport.append(svg);
    if (this._touched) {
      this._apply(clampView(this._view, this._content, this._size()), false);
    } else {
      this._selected = state.selected;
      this._initialView();
    }
  }

  /** Until the user zooms or pans: 100 %, and the selected node in view. */
  private _initialView(): void {
    this._apply(resetView(this._content, this._size()), false);
    if (this._selected) {
      this.reveal(this._selected, false);
    }
  }

  private _nodeElement(id: string | null): Element | null {
    const nodes = id && this._svg ? Array.from(this._svg.querySelectorAll<SVGElement>('.jp-notelock-gnode')) : [];
    return nodes.find(node => node.dataset.id === id) ?? null;
  }

  /** The viewport's size; while it is hidden or detached (no size), the last one it had. */
  private _size(): ISize {
    const size = { width: this.viewport.clientWidth, height: this.viewport.clientHeight };
    if (size.width && size.height) {
      this._lastSize = size;
      return size;
    }
    return this._lastSize ?? size;
  }

  /** Show a view; `byUser` marks the view as chosen (kept across redraws and resizes). */
  private _apply(view: IView, byUser = true): void {
    if (byUser) {
      this._touched = true;
    }
    if (this._svg && this._options.mode === 'sidebar') {
      // as tall as the drawing (with its border), within bounds: the sidebar scrolls past it
      const height = Math.min(SIDEBAR_HEIGHT.max, Math.max(SIDEBAR_HEIGHT.min, Math.ceil(this._content.height * view.scale) + 2));
      if (this.viewport.style.height !== `${height}px`) {
        this.viewport.style.height = `${height}px`;
        view = clampView(view, this._content, this._size());
      }
    }
    this._view = view;
    if (this._svg) {
      this._svg.setAttribute('width', (this._content.width * view.scale).toFixed(2));
      this._svg.setAttribute('height', (this._content.height * view.scale).toFixed(2));
      // A drawing larger than the viewport is scrolled (hidden scrollbars), so
      // that the browser's own scrolling of a focused node agrees with the
      // view; a smaller one is placed.
      this._svg.style.left = `${Math.max(0, view.x).toFixed(1)}px`;
      this._svg.style.top = `${Math.max(0, view.y).toFixed(1)}px`;
      this.viewport.scrollLeft = Math.max(0, -view.x);
      this.viewport.scrollTop = Math.max(0, -view.y);
    }
    this._applyScale();
  }

  private _applyScale(): void {
    const scale = this._view.scale;
    this._scale.textContent = formatScale(scale);
    const small = scale < ZOOM_LIMITS.readable - 1e-9;
    this._scale.classList.toggle('jp-mod-small', small);
    this._scale.title = small ? `${formatScale(scale)}: the text is drawn smaller than 10 px (100 % is natural size)` : `${formatScale(scale)}`;
    const buttons = this.toolbar;
    (buttons.querySelector('.jp-notelock-graph-zoomin') as HTMLButtonElement).disabled = scale >= ZOOM_LIMITS.max - 1e-9;
    (buttons.querySelector('.jp-notelock-graph-zoomout') as HTMLButtonElement).disabled = scale <= ZOOM_LIMITS.min + 1e-9;
  }

  private _listen(): void {
    const viewport = this.viewport;
    // Scrolled by the browser (a node focused, scrolled into view): the view follows.
    viewport.addEventListener('scroll', () => {
      const size = this._size();
      const view = this._view;
      const x = this._content.width * view.scale > size.width ? -viewport.scrollLeft : view.x;
      const y = this._content.height * view.scale > size.height ? -viewport.scrollTop : view.y;
      if (Math.abs(x - view.x) >= 1 || Math.abs(y - view.y) >= 1) {
        this._view = { scale: view.scale, x, y };
        this._touched = true;
      }
    });
    viewport.addEventListener('keydown', event => this._onKey(event));
    viewport.addEventListener('wheel', event => this._onWheel(event), { passive: false });
    viewport.addEventListener('pointerdown', event => this._onPointerDown(event));
    viewport.addEventListener('pointermove', event => this._onPointerMove(event));
    viewport.addEventListener('pointerup', event => this._onPointerUp(event));
    viewport.addEventListener('pointercancel', event => this._onPointerUp(event));
    // After a drag the click that ends it selects nothing.
    viewport.addEventListener(
      'click',
      event => {
        if (this._suppressClick) {
          this._suppressClick = false;
          event.stopPropagation();
          event.preventDefault();
          return;
        }
        const node = (event.target as Element).closest?.('.jp-notelock-gnode') as SVGElement | null;
        if (node?.dataset.id) {
          this._options.onSelect(node.dataset.id, false);
        }
      },
      true
    );
    // A node reached with Tab comes into view.
    viewport.addEventListener('focusin', event => {
      const node = (event.target as Element).closest?.('.jp-notelock-gnode') as SVGElement | null;
      if (node?.dataset.id) {
        this.reveal(node.dataset.id);
      }
    });
    if (typeof ResizeObserver !== 'undefined') {
      this._observer = new ResizeObserver(() => this.resized());
      this._observer.observe(viewport);
    }
  }

  private _onKey(event: KeyboardEvent): void {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return; // the browser's and JupyterLab's shortcuts
    }
    const node = (event.target as Element).closest?.('.jp-notelock-gnode') as SVGElement | null;
    const size = this._size();
    const pan = (dx: number, dy: number) => this._apply(panBy(this._view, dx, dy, this._content, size));
    switch (event.key) {
      case '+':
      case '=':
        this.zoomIn();
        break;
      case '-':
      case '_':
      case '−':
        this.zoomOut();
        break;
      case '0':
        this.reset();
        break;
      case 'ArrowLeft':
        pan(KEY_PAN, 0);
        break;
      case 'ArrowRight':
        pan(-KEY_PAN, 0);
        break;
      case 'ArrowUp':
        pan(0, KEY_PAN);
        break;
      case 'ArrowDown':
        pan(0, -KEY_PAN);
        break;
      case 'Enter':
      case ' ':
        if (!node?.dataset.id) {
          return;
        }
        this._options.onSelect(node.dataset.id, true);
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  private _onWheel(event: WheelEvent): void {
    const rect = this.viewport.getBoundingClientRect();
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      const at = { x: event.clientX - rect.left, y: event.clientY - rect.top };
      this._apply(zoomAt(this._view, wheelFactor(event.deltaY, event.deltaMode), at, this._content, this._size()));
    } else if (this._options.mode === 'document') {
      event.preventDefault();
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? this._size().height : 1;
      const [dx, dy] = event.shiftKey && !event.deltaX ? [event.deltaY, 0] : [event.deltaX, event.deltaY];
      this._apply(panBy(this._view, -dx * unit, -dy * unit, this._content, this._size()));
    }
    // in the sidebar a plain wheel scrolls the sidebar
  }

  private _onPointerDown(event: PointerEvent): void {
    if (event.button !== 0 || !event.isPrimary || !this._svg) {
      return;
    }
    this._suppressClick = false;
    this._drag = { id: event.pointerId, x: event.clientX, y: event.clientY, view: this._view, moving: false };
  }

  private _onPointerMove(event: PointerEvent): void {
    const drag = this._drag;
    if (!drag || event.pointerId !== drag.id) {
      return;
    }
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moving) {
      if (Math.hypot(dx, dy) < DRAG_THRESHOLD) {
        return;
      }
      drag.moving = true;
      this.viewport.classList.add('jp-mod-panning');
      try {
        this.viewport.setPointerCapture?.(event.pointerId);
      } catch {
        // the pointer is gone already
      }
    }
    event.preventDefault();
    this._apply(panBy(drag.view, dx, dy, this._content, this._size()));
  }

  private _onPointerUp(event: PointerEvent): void {
    const drag = this._drag;
    if (!drag || event.pointerId !== drag.id) {
      return;
    }
    this._drag = null;
    if (drag.moving) {
      this.viewport.classList.remove('jp-mod-panning');
      this._suppressClick = event.type === 'pointerup';
      try {
        this.viewport.releasePointerCapture?.(event.pointerId);
      } catch {
        // released already
      }
    }
  }

  private _options: IGraphViewOptions;
  private _scale: HTMLElement;
  private _svg: SVGSVGElement | null = null;
  private _lock: ILock | null = null;
  private _verdictKey = '';
  private _selected: string | null = null;
  private _key: string | null | undefined = undefined;
  private _content: ISize = { width: 0, height: 0 };
  private _view: IView = { scale: 1, x: 0, y: 0 };
  /** Whether the user chose the view (else it follows the viewport's size). */
  private _touched = false;
  private _drag: { id: number; x: number; y: number; view: IView; moving: boolean } | null = null;
  private _suppressClick = false;
  private _observer: ResizeObserver | null = null;
  private _lastSize: ISize | null = null;
}
