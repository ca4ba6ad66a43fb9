/**
 * The lock as a graph: nodes in execution order, edges from inputs to the
 * nodes that consumed them, laid out top to bottom by dagre and drawn as SVG.
 * The nodes a cell recorded (its reads, fits, predicts) are drawn inside a
 * labelled box of that cell, with the cell's own node (a compound graph); the
 * boxes follow one another down in execution order.
 */
import * as dagre from '@dagrejs/dagre';

import { opIconSvg } from './icons';
import { cellIndexOf, edges, firstCodeLine, lastName, nodeBadges, nodesInOrder } from './model';
import { ILock, INodeVerdict } from './tokens';

const SVG_NS = 'http://www.w3.org/2000/svg';
const CHAR_WIDTH = 6.2; // of the 11px UI font of titles
const ID_CHAR_WIDTH = 6.1; // of the 10px monospace font of ids and cluster labels
const NODE_HEIGHT = 34;
const PADDING = 8;
const RANKSEP = 24; // between rows of boxes
const LABEL_HEIGHT = 16; // the strip above a cluster's boxes that holds its label

export interface IGraphNode {
  id: string;
  op: string;
  title: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The cell index of the cluster drawn around it, if any. */
  cell?: number;
}

/** A cell's execution drawn as a box around the nodes recorded while it ran. */
export interface IGraphCluster {
  /** `cell:<index>`, never a node id. */
  id: string;
  /** Index in `lock.cells`. */
  cell: number;
  /** `[4] df = pd.read_csv("transactions.csv")` (untruncated). */
  label: string;
  /** Node ids inside, in execution order. */
  members: string[];
  /** Centre and size, like the nodes. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface IGraphLayout {
  width: number;
  height: number;
  nodes: IGraphNode[];
  clusters: IGraphCluster[];
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

/** The label of a cell's cluster: its execution count and first line of code. */
export function clusterLabel(lock: ILock, index: number): string {
  const cell = lock.cells[index];
  const count = typeof cell?.execution_count === 'number' ? `[${cell.execution_count}]` : '';
  const line = cell ? firstCodeLine(cell.source ?? '') : '';
  return line ? `${count ? count + ' ' : ''}${line}` : `cell ${count}`.trim();
}

/**
 * The nodes of each execution that recorded more than its own @cell_ node
 * (reads, fits, predicts…): cell index → node ids, in execution order. A node
 * whose execution is not known belongs to none.
 */
export function graphClusters(lock: ILock, ids: string[] = nodesInOrder(lock)): Map<number, string[]> {
  const byCell = new Map<number, string[]>();
  for (const id of ids) {
    const index = cellIndexOf(lock, id);
    if (index >= 0) {
      byCell.set(index, [...(byCell.get(index) ?? []), id]);
    }
  }
  for (const [index, members] of byCell) {
    if (!members.some(id => id !== lock.cells[index].node)) {
      byCell.delete(index); // a lone cell box needs no box around it
    }
  }
  return byCell;
}

function nodeWidth(lock: ILock, id: string): number {
  const title = graphTitle(lock, id);
  const width = Math.max(title.length * CHAR_WIDTH, id.length * ID_CHAR_WIDTH) + 2 * PADDING + 18;
  return Math.min(Math.max(width, 110), 210);
}

/** Whether a path of edges leads from `start` to `target`. */
function reaches(g: dagre.graphlib.Graph, start: string, target: string): boolean {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const id = stack.pop() as string;
    if (id === target) {
      return true;
    }
    if (!seen.has(id)) {
      seen.add(id);
      stack.push(...(g.successors(id) ?? []));
    }
  }
  return false;
}

function runDagre(lock: ILock, ids: string[], clusters: Map<number, string[]>): dagre.graphlib.Graph {
  const compound = clusters.size > 0;
  const g = new dagre.graphlib.Graph({ compound });
  // With clusters dagre puts node ranks three ranks apart (the ranks between
  // hold the cluster borders), so a third of the separation keeps the rows
  // as far apart as without.
  g.setGraph({ rankdir: 'TB', nodesep: 12, ranksep: compound ? RANKSEP / 3 : RANKSEP, marginx: 4, marginy: 4 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) {
    g.setNode(id, { width: nodeWidth(lock, id), height: NODE_HEIGHT });
  }
  for (const [index, members] of clusters) {
    g.setNode(`cell:${index}`, {});
    for (const id of members) {
      g.setParent(id, `cell:${index}`);
    }
  }
  for (const [from, to] of edges(lock)) {
    g.setEdge(from, to);
  }
  // Cell boxes follow one another down the page in execution order: where two
  // boxes shared a row they would have to stand side by side, and a run of
  // cells, each reading what the last one made, would climb a staircase ever
  // wider than the sidebar. Edges that only order, never drawn.
  const ordered = [...clusters.entries()].sort(([a], [b]) => a - b);
  for (let i = 1; i < ordered.length; i++) {
    const [, before] = ordered[i - 1];
    const [, after] = ordered[i];
    const sinks = before.filter(id => !(g.successors(id) ?? []).some(s => before.includes(s)));
    const sources = after.filter(id => !(g.predecessors(id) ?? []).some(p => after.includes(p)));
    for (const from of sinks) {
      for (const to of sources) {
        // never against the data: a node recorded again later can feed an earlier cell
        if (!g.hasEdge(from, to) && !reaches(g, to, from)) {
          g.setEdge(from, to, { order: true, weight: 0 });
        }
      }
    }
  }
  dagre.layout(g);
  return g;
}

/**
 * What a layout depends on, as one string: the nodes in order with their
 * kinds and titles (titles size the boxes), the edges, and the cell boxes
 * with their members and labels. Two locks with the same signature have the
 * same layout, whatever else differs (hashes, timings, verdicts).
 */
export function layoutSignature(lock: ILock): string {
  const ids = nodesInOrder(lock);
  return JSON.stringify([
    ids.map(id => [id, lock.nodes[id].op, graphTitle(lock, id)]),
    edges(lock),
    [...graphClusters(lock, ids)].map(([index, members]) => [index, clusterLabel(lock, index), members])
  ]);
}

/** The last layouts computed, by signature, the most recently used last. */
const layoutCache = new Map<string, IGraphLayout>();
const LAYOUT_CACHE_SIZE = 8;

/** Forget every cached layout (tests; a layout never goes stale by itself). */
export function clearLayoutCache(): void {
  layoutCache.clear();
}

/**
 * Positions of every node, cluster and edge (used by the SVG and the tests).
 * dagre takes seconds for a few hundred nodes, and the sidebar draws again
 * on every refresh: a lock whose graph did not change gets the layout
 * computed before (shared, so treat it as read-only).
 */
export function layoutGraph(lock: ILock): IGraphLayout {
  const key = layoutSignature(lock);
  const cached = layoutCache.get(key);
  if (cached) {
    layoutCache.delete(key);
    layoutCache.set(key, cached);
    return cached;
  }
  const layout = computeLayout(lock);
  layoutCache.set(key, layout);
  while (layoutCache.size > LAYOUT_CACHE_SIZE) {
    layoutCache.delete(layoutCache.keys().next().value as string);
  }
  return layout;
}

function computeLayout(lock: ILock): IGraphLayout {
  const ids = nodesInOrder(lock);
  let clusters = graphClusters(lock, ids);
  let g: dagre.graphlib.Graph;
  try {
    g = runDagre(lock, ids, clusters);
  } catch (error) {
    // dagre's compound layout has known failures; the nodes matter more.
    console.warn('notelock: graph drawn without cell boxes', error);
    clusters = new Map();
    g = runDagre(lock, ids, clusters);
  }
  // Room for the clusters' labels: everything below a cluster's top edge
  // moves down by one label strip (monotone, so nothing comes to overlap;
  // clusters whose tops are level share one strip).
  const tops = [
    ...new Set(
      [...clusters.keys()].map(index => {
        const c = g.node(`cell:${index}`);
        return Math.round((c.y - c.height / 2) * 100) / 100;
      })
    )
  ];
  const shift = (y: number) => y + LABEL_HEIGHT * tops.filter(top => top < y - 0.01).length;
  const graph = g.graph();
  // An empty graph has no extent (dagre says -Infinity).
  const extent = (value: number | undefined) => (ids.length && Number.isFinite(value) ? Math.ceil(value as number) : 0);
  const cellOfNode = new Map<string, number>();
  for (const [index, members] of clusters) {
    members.forEach(id => cellOfNode.set(id, index));
  }
  return {
    width: extent(graph.width),
    height: extent(graph.height === undefined ? undefined : graph.height + LABEL_HEIGHT * tops.length),
    nodes: ids.map(id => {
      const n = g.node(id);
      const node: IGraphNode = { id, op: lock.nodes[id].op, title: graphTitle(lock, id), x: n.x, y: shift(n.y), width: n.width, height: n.height };
      if (cellOfNode.has(id)) {
        node.cell = cellOfNode.get(id);
      }
      return node;
    }),
    clusters: [...clusters].map(([index, members]) => {
      const c = g.node(`cell:${index}`);
      const top = shift(c.y - c.height / 2);
      const bottom = shift(c.y + c.height / 2);
      return { id: `cell:${index}`, cell: index, label: clusterLabel(lock, index), members, x: c.x, y: (top + bottom) / 2, width: c.width, height: bottom - top };
    }),
    edges: g.edges().filter(e => !g.edge(e).order).map(e => ({ from: e.v, to: e.w, points: (g.edge(e).points ?? []).map(p => ({ x: p.x, y: shift(p.y) })) }))
  };
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    el.setAttribute(key, String(value));
  }
  return el;
}

function truncateTo(text: string, width: number, charWidth: number): string {
  const max = Math.floor(width / charWidth);
  return text.length > max ? text.slice(0, Math.max(max - 1, 1)) + '…' : text;
}

function truncate(text: string, width: number): string {
  return truncateTo(text, width - 2 * PADDING - 18, CHAR_WIDTH);
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
    'aria-label': `Graph of ${layout.nodes.length} nodes` + (layout.clusters.length ? `, grouped in ${layout.clusters.length} cell boxes` : '')
  }) as SVGSVGElement;
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'jp-notelock-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'jp-notelock-graph-arrow' }));
  defs.append(marker);
  root.append(defs);
  // Cell boxes first (behind the edges), their labels after the edges (so a
  // crossing edge does not strike through them), the nodes last.
  const labels: SVGElement[] = [];
  for (const cluster of layout.clusters) {
    const left = cluster.x - cluster.width / 2;
    const top = cluster.y - cluster.height / 2;
    const group = svg('g', {
      class: 'jp-notelock-gcluster',
      'data-cell': cluster.cell,
      'data-members': cluster.members.join(' '),
      transform: `translate(${left.toFixed(1)} ${top.toFixed(1)})`
    });
    const cell = lock.cells[cluster.cell];
    const recorded = cluster.members.filter(id => id !== cell.node).length;
    const later = typeof cell.superseded_by === 'number' ? lock.cells[cell.superseded_by] : undefined;
    const title = svg('title', {});
    title.textContent =
      `${cluster.label}\n${recorded} node${recorded === 1 ? '' : 's'} recorded while this cell ran` +
      (later ? `; an earlier run, replaced by [${later.execution_count ?? '?'}]` : '');
    group.append(title, svg('rect', { width: cluster.width, height: cluster.height, rx: 6, ry: 6, class: 'jp-notelock-gcluster-box' }));
    root.append(group);
    const label = svg('text', { x: (left + 6).toFixed(1), y: (top + 13).toFixed(1), class: 'jp-notelock-gcluster-label', 'data-cell': cluster.cell });
    label.textContent = truncateTo(cluster.label, cluster.width - 12, ID_CHAR_WIDTH);
    labels.push(label);
  }
  for (const edge of layout.edges) {
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const path = svg('path', { d, class: 'jp-notelock-graph-edge', 'marker-end': 'url(#jp-notelock-arrow)', 'data-from': edge.from, 'data-to': edge.to });
    root.append(path);
  }
  root.append(...labels);
  for (const node of layout.nodes) {
    const verdict = options.verdicts?.get(node.id);
    const diverged = nodeBadges(lock, node.id, verdict).some(b => b.kind === 'diverged');
    const group = svg('g', {
      class: 'jp-notelock-gnode' + (options.selected === node.id ? ' jp-mod-selected' : '') + (diverged ? ' jp-mod-diverged' : ''),
      'data-id': node.id,
      'data-op': node.op,
      ...(node.cell === undefined ? {} : { 'data-cell': node.cell }),
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
