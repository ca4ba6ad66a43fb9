/**
 * The lock as a graph: nodes in execution order, edges from inputs to the
 * nodes that consumed them, laid out top to bottom by dagre and drawn as SVG.
 */
import * as dagre from '@dagrejs/dagre';

import { opIconSvg } from './icons';
import { edges, lastName, nodeBadges, nodesInOrder } from './model';
import { ILock, INodeVerdict } from './tokens';

const SVG_NS = 'http://www.w3.org/2000/svg';
const CHAR_WIDTH = 6.2; // of the 11px UI font of titles
const ID_CHAR_WIDTH = 6.1; // of the 10px monospace font of ids
const NODE_HEIGHT = 34;
const PADDING = 8;

export interface IGraphNode {
  id: string;
  op: string;
  title: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface IGraphLayout {
  width: number;
  height: number;
  nodes: IGraphNode[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

/** A short title for a box: `read_csv transactions.csv`, `fit RandomForestClassifier`. */
export function graphTitle(lock: ILock, id: string): string {
  const node = lock.nodes[id];
  switch (node.op) {
    case 'read': {
      const file = node.path ? node.path.split('/').pop() : node.query ? 'query' : '';
      return `${lastName(node.reader) || 'read'}${file ? ' ' + file : ''}`;
    }
    case 'cell': {
      const cell = typeof node.cell === 'number' ? lock.cells[node.cell] : undefined;
      return typeof cell?.execution_count === 'number' ? `cell [${cell.execution_count}]` : 'cell';
    }
    default:
      return `${node.method || node.op} ${lastName(node.estimator)}`.trim();
  }
}

/** Positions of every node and edge (pure; used by the SVG and the tests). */
export function layoutGraph(lock: ILock): IGraphLayout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 12, ranksep: 24, marginx: 4, marginy: 4 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = nodesInOrder(lock);
  for (const id of ids) {
    const title = graphTitle(lock, id);
    const width = Math.max(title.length * CHAR_WIDTH, id.length * ID_CHAR_WIDTH) + 2 * PADDING + 18;
    g.setNode(id, { width: Math.min(Math.max(width, 110), 210), height: NODE_HEIGHT });
  }
  for (const [from, to] of edges(lock)) {
    g.setEdge(from, to);
  }
  dagre.layout(g);
  const graph = g.graph();
  // An empty graph has no extent (dagre says -Infinity).
  const extent = (value: number | undefined) => (ids.length && Number.isFinite(value) ? Math.ceil(value as number) : 0);
  return {
    width: extent(graph.width),
    height: extent(graph.height),
    nodes: ids.map(id => {
      const n = g.node(id);
      return { id, op: lock.nodes[id].op, title: graphTitle(lock, id), x: n.x, y: n.y, width: n.width, height: n.height };
    }),
    edges: g.edges().map(e => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] }))
  };
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    el.setAttribute(key, String(value));
  }
  return el;
}

function truncate(text: string, width: number): string {
  const max = Math.floor((width - 2 * PADDING - 18) / CHAR_WIDTH);
  return text.length > max ? text.slice(0, Math.max(max - 1, 1)) + '…' : text;
}

export interface IGraphOptions {
  selected?: string | null;
  verdicts?: Map<string, INodeVerdict>;
  onSelect?: (id: string) => void;
}

/** The graph as an SVG element, themed through CSS classes. */
export function renderGraph(lock: ILock, options: IGraphOptions = {}): SVGSVGElement {
  const layout = layoutGraph(lock);
  const root = svg('svg', {
    class: 'jp-notelock-graph',
    // Natural size: readable at any sidebar width; the wrapper scrolls (pan).
    width: layout.width,
    height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    role: 'img',
    'aria-label': `Graph of ${layout.nodes.length} nodes`
  }) as SVGSVGElement;
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'jp-notelock-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'jp-notelock-graph-arrow' }));
  defs.append(marker);
  root.append(defs);
  for (const edge of layout.edges) {
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const path = svg('path', { d, class: 'jp-notelock-graph-edge', 'marker-end': 'url(#jp-notelock-arrow)', 'data-from': edge.from, 'data-to': edge.to });
    root.append(path);
  }
  for (const node of layout.nodes) {
    const verdict = options.verdicts?.get(node.id);
    const diverged = nodeBadges(lock, node.id, verdict).some(b => b.kind === 'diverged');
    const group = svg('g', {
      class: 'jp-notelock-gnode' + (options.selected === node.id ? ' jp-mod-selected' : '') + (diverged ? ' jp-mod-diverged' : ''),
      'data-id': node.id,
      'data-op': node.op,
      transform: `translate(${(node.x - node.width / 2).toFixed(1)} ${(node.y - node.height / 2).toFixed(1)})`,
      tabindex: 0
    });
    const title = svg('title', {});
    title.textContent = `${node.title}\n${node.id}`;
    group.append(title);
    group.append(svg('rect', { width: node.width, height: node.height, rx: 4, ry: 4, class: 'jp-notelock-gnode-box' }));
    const icon = svg('g', { transform: `translate(${PADDING - 2} ${(node.height - 14) / 2}) scale(0.58)` });
    // A constant of this extension, never lock content.
    icon.innerHTML = opIconSvg(node.op).replace(/^<svg[^>]*>|<\/svg>$/g, '');
    group.append(icon);
    const label = svg('text', { x: PADDING + 16, y: 14, class: 'jp-notelock-gnode-title' });
    label.textContent = truncate(node.title, node.width);
    const id = svg('text', { x: PADDING + 16, y: 27, class: 'jp-notelock-gnode-id' });
    id.textContent = node.id;
    group.append(label, id);
    if (options.onSelect) {
      group.addEventListener('click', () => options.onSelect!(node.id));
    }
    root.append(group);
  }
  return root;
}
