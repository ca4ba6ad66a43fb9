/**
 * DOM rendering of a lock for the sidebar, one module per concern: dom.ts
 * (helpers), header.ts, nodes.ts (list and details), environment.ts,
 * replay.ts, diffview.ts. Plain DOM and no JupyterLab imports: the panel
 * composes these pieces, and the unit tests render them in jsdom.
 */
export { badge, h } from './dom';
export { renderHeader } from './header';
export { renderDetails, renderNodeList } from './nodes';
export type { INodeListOptions } from './nodes';
export { renderEnvironment } from './environment';
export { renderReplay } from './replay';
export { renderDiff } from './diffview';
