/**
 * SVG icons for node kinds, in JupyterLab's icon style: the `jp-icon3`
 * class lets the active theme recolour them (light and dark).
 */

const wrap = (body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24" aria-hidden="true">` +
  `<g class="jp-icon3" fill="#616161">${body}</g></svg>`;

/** Cylinder: data read from a file or a database. */
const read = wrap(
  '<path d="M12 3C7.6 3 4 4.3 4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6c0-1.7-3.6-3-8-3zm0 2c3.9 0 6 1 6 1s-2.1 1-6 1-6-1-6-1 2.1-1 6-1zm6 13c0 .3-2.1 1-6 1s-6-.7-6-1v-2.3c1.5.8 3.6 1.3 6 1.3s4.5-.5 6-1.3zm0-5c0 .3-2.1 1-6 1s-6-.7-6-1v-2.3c1.5.8 3.6 1.3 6 1.3s4.5-.5 6-1.3z"/>'
);
/** Gear: a model being fitted. */
const fit = wrap(
  '<path d="M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.4 7.4 0 0 0-1.7-1L15 3h-4l-.4 2.9a7.4 7.4 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7.4 7.4 0 0 0 1.7 1L11 21h4l.4-2.9a7.4 7.4 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z" transform="translate(-1 0)"/>'
);
/** Arrow into a target: predictions from a fitted model. */
const predict = wrap(
  '<path d="M12 2a10 10 0 1 0 10 10h-2a8 8 0 1 1-8-8zm0 4a6 6 0 1 0 6 6h-2a4 4 0 1 1-4-4zm8.6-3.9L13 9.6V8h-2v5h5v-2h-1.6l7.6-7.5z"/>'
);
/** Two arrows: a transformation of data. */
const transform = wrap(
  '<path d="M4 7h12.2l-3.6-3.6L14 2l6 6-6 6-1.4-1.4L16.2 9H4zm16 10H7.8l3.6 3.6L10 22l-6-6 6-6 1.4 1.4L7.8 15H20z"/>'
);
/** Bars: a score. */
const score = wrap('<path d="M4 20V10h3v10zm6.5 0V4h3v16zM17 20v-7h3v7z"/>');
/** Braces: a locked notebook cell. */
const cell = wrap(
  '<path d="M8 3a3 3 0 0 0-3 3v3a2 2 0 0 1-2 2v2a2 2 0 0 1 2 2v3a3 3 0 0 0 3 3h1v-2H8a1 1 0 0 1-1-1v-3.5A2.5 2.5 0 0 0 5.8 12 2.5 2.5 0 0 0 7 9.5V6a1 1 0 0 1 1-1h1V3zm8 0a3 3 0 0 1 3 3v3a2 2 0 0 0 2 2v2a2 2 0 0 0-2 2v3a3 3 0 0 1-3 3h-1v-2h1a1 1 0 0 0 1-1v-3.5a2.5 2.5 0 0 1 1.2-2.5A2.5 2.5 0 0 1 17 9.5V6a1 1 0 0 0-1-1h-1V3z"/>'
);
/** A padlock: the sidebar's own icon. */
export const lockSvg = wrap(
  '<path d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 5a3 3 0 0 1 6 0v3H9zm3 6.5a1.5 1.5 0 0 1 .8 2.8V18h-1.6v-1.7a1.5 1.5 0 0 1 .8-2.8z"/>'
);
/** Two documents side by side: compare two lock files. */
export const diffSvg = wrap(
  '<path d="M4 3h7v14H4zm2 2v10h3V5zm7 2h7v14h-7zm2 2v10h3V9zM11.5 19.5 9 17l2.5-2.5V16H13v2h-1.5z"/>'
);
/** Three boxes joined by edges: the lock's graph. */
export const graphSvg = wrap(
  '<path d="M9 2h6v5h-2v3.1l5 2.9V12h4v6h-6v-4.3L12 11l-4 2.7V18H2v-6h4v1l5-2.9V7H9zm2 2v1h2V4zM4 14v2h2v-2zm14 0v2h2v-2z"/>'
);

const ICONS: Record<string, string> = {
  read,
  fit,
  predict,
  transform,
  score,
  cell
};

/** The icon of a node kind (the cell icon for kinds this version does not know). */
export function opIconSvg(op: string): string {
  return ICONS[op] ?? cell;
}
