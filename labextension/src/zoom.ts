/**
 * Zoom and pan of a drawing in a viewport: pure arithmetic, no DOM.
 *
 * A view maps drawing coordinates to viewport pixels:
 * `screen = drawing × scale + (x, y)`. Every function returns a new view,
 * clamped so that the drawing never leaves the viewport entirely.
 */

export interface IView {
  scale: number;
  x: number;
  y: number;
}

export interface ISize {
  width: number;
  height: number;
}

export interface IPoint {
  x: number;
  y: number;
}

/** A box in drawing coordinates, by its top left corner. */
export interface IBox extends IPoint, ISize {}

export const ZOOM_LIMITS = {
  /** The smallest scale zoom out reaches (an overview). */
  min: 0.25,
  /** The largest scale zoom in reaches. */
  max: 3,
  /** One step of the buttons and keys. */
  step: 1.25,
  /**
   * Fit never shrinks below this (the smallest text, 10 px at 100 %, stays at
   * 5 px or more) nor magnifies above `fitMax`; the toolbar says the scale.
   */
  fitFloor: 0.5,
  fitMax: 2,
  /** Below this scale some text is drawn under 10 px: the readout says so. */
  readable: 1
};

export function clampScale(scale: number, min = ZOOM_LIMITS.min, max = ZOOM_LIMITS.max): number {
  return Math.min(max, Math.max(min, scale));
}

/**
 * Keep the drawing in the viewport: a drawing narrower than the viewport
 * stays wholly inside it, a wider one covers it (no blank beyond its edges).
 * The same for the height.
 */
export function clampView(view: IView, content: ISize, viewport: ISize): IView {
  const axis = (offset: number, size: number, room: number) => {
    const free = room - size * view.scale;
    const [lo, hi] = free >= 0 ? [0, free] : [free, 0];
    return Math.min(hi, Math.max(lo, offset));
  };
  return { scale: view.scale, x: axis(view.x, content.width, viewport.width), y: axis(view.y, content.height, viewport.height) };
}

/** Natural size (100 %), centred across (a wider drawing shows its middle), from the top. */
export function resetView(content: ISize, viewport: ISize): IView {
  return clampView({ scale: 1, x: (viewport.width - content.width) / 2, y: 0 }, content, viewport);
}

/**
 * Zoom by `factor` keeping the drawing point under `at` (a viewport point)
 * where it is; the scale stays within the limits.
 */
export function zoomAt(view: IView, factor: number, at: IPoint, content: ISize, viewport: ISize): IView {
  const scale = clampScale(view.scale * factor);
  const k = scale / view.scale;
  return clampView({ scale, x: at.x - (at.x - view.x) * k, y: at.y - (at.y - view.y) * k }, content, viewport);
}

/** Zoom around the viewport's centre (the buttons and keys). */
export function zoomBy(view: IView, factor: number, content: ISize, viewport: ISize): IView {
  return zoomAt(view, factor, { x: viewport.width / 2, y: viewport.height / 2 }, content, viewport);
}

/** A set scale around the viewport's centre. */
export function zoomTo(view: IView, scale: number, content: ISize, viewport: ISize): IView {
  return zoomBy(view, scale / view.scale, content, viewport);
}

export function panBy(view: IView, dx: number, dy: number, content: ISize, viewport: ISize): IView {
  return clampView({ scale: view.scale, x: view.x + dx, y: view.y + dy }, content, viewport);
}

/**
 * The scale that fits the drawing to the viewport's width (`'width'`: the
 * viewport scrolls down the rest) or wholly (`'both'`), within
 * `fitFloor`…`fitMax`; centred across, from the top.
 */
export function fitView(content: ISize, viewport: ISize, mode: 'width' | 'both' = 'width'): IView {
  if (!content.width || !content.height || !viewport.width || !viewport.height) {
    return { scale: 1, x: 0, y: 0 };
  }
  const across = viewport.width / content.width;
  const wanted = mode === 'both' ? Math.min(across, viewport.height / content.height) : across;
  const scale = Math.min(ZOOM_LIMITS.fitMax, Math.max(ZOOM_LIMITS.fitFloor, wanted));
  const x = (viewport.width - content.width * scale) / 2;
  const y = mode === 'both' ? Math.max(0, (viewport.height - content.height * scale) / 2) : 0;
  return clampView({ scale, x, y }, content, viewport);
}

/**
 * The least pan that brings `box` (drawing coordinates) into the viewport
 * with `margin` pixels around it; a box larger than the viewport is centred.
 * The scale does not change.
 */
export function revealBox(view: IView, box: IBox, content: ISize, viewport: ISize, margin = 12): IView {
  const axis = (offset: number, start: number, size: number, room: number) => {
    const lo = start * view.scale + offset;
    const hi = (start + size) * view.scale + offset;
    if (hi - lo + 2 * margin > room) {
      return offset + room / 2 - (lo + hi) / 2;
    }
    if (lo < margin) {
      return offset + margin - lo;
    }
    if (hi > room - margin) {
      return offset - (hi - (room - margin));
    }
    return offset;
  };
  return clampView(
    { scale: view.scale, x: axis(view.x, box.x, box.width, viewport.width), y: axis(view.y, box.y, box.height, viewport.height) },
    content,
    viewport
  );
}

/** Whether the whole box shows in the viewport. */
export function isVisible(view: IView, box: IBox, viewport: ISize): boolean {
  const left = box.x * view.scale + view.x;
  const top = box.y * view.scale + view.y;
  return left >= 0 && top >= 0 && left + box.width * view.scale <= viewport.width && top + box.height * view.scale <= viewport.height;
}

/**
 * The zoom factor of one wheel event (Ctrl/⌘ + wheel, or a trackpad's
 * pinch): exponential in the distance, so a notch in and a notch out cancel.
 * `deltaMode` 1 counts lines, 2 pages (as WheelEvent does).
 */
export function wheelFactor(deltaY: number, deltaMode = 0): number {
  const pixels = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp(-Math.max(-200, Math.min(200, pixels)) * 0.002);
}

/** `'64 %'`: the scale as the toolbar says it. */
export function formatScale(scale: number): string {
  return `${Math.round(scale * 100)} %`;
}
