/**
 * The graph groups each cell's nodes: the reads (and fits, predicts) a cell
 * recorded are drawn inside a labelled box of that cell, with its @cell_ node.
 */
import * as dagre from '@dagrejs/dagre';

import {
  clearLayoutCache,
  clusterLabel,
  graphClusters,
  IGraphCluster,
  IGraphLayout,
  IGraphNode,
  layoutGraph,
  layoutSignature,
  renderGraph
} from '../src/graph';
import { edges, nodesInOrder } from '../src/model';
import { ILock } from '../src/tokens';
import { chainLock, FEATURES_CELL, FIT, FIT_CELL, loadLock, PREDICT, READ_CSV, READ_SQL, rerun } from './fixture';

// The real dagre, through a mock that a test can make fail once.
jest.mock('@dagrejs/dagre', () => {
  const actual = jest.requireActual('@dagrejs/dagre');
  return { ...actual, layout: jest.fn(actual.layout) };
});

interface IBox {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function box(n: IGraphNode | IGraphCluster): IBox {
  return { left: n.x - n.width / 2, right: n.x + n.width / 2, top: n.y - n.height / 2, bottom: n.y + n.height / 2 };
}

function inside(inner: IBox, outer: IBox): boolean {
  return inner.left >= outer.left && inner.right <= outer.right && inner.top >= outer.top && inner.bottom <= outer.bottom;
}

function overlap(a: IBox, b: IBox): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function node(layout: IGraphLayout, id: string): IGraphNode {
  const found = layout.nodes.find(n => n.id === id);
  expect(found).toBeDefined();
  return found as IGraphNode;
}

function clusterOfCell(layout: IGraphLayout, cell: number): IGraphCluster | undefined {
  return layout.clusters.find(c => c.cell === cell);
}

/** Geometry every layout must keep, clusters or not. */
function expectSoundLayout(lock: ILock, layout: IGraphLayout): void {
  expect(layout.nodes.map(n => n.id)).toEqual(nodesInOrder(lock));
  const all = [...layout.nodes.map(box), ...layout.clusters.map(box)];
  for (const b of all) {
    expect(b.left).toBeGreaterThanOrEqual(0);
    expect(b.top).toBeGreaterThanOrEqual(0);
    expect(b.right).toBeLessThanOrEqual(layout.width);
    expect(b.bottom).toBeLessThanOrEqual(layout.height);
  }
  for (const a of layout.nodes) {
    for (const b of layout.nodes) {
      if (a !== b) {
        expect(overlap(box(a), box(b))).toBe(false);
      }
    }
  }
  for (const c of layout.clusters) {
    for (const n of layout.nodes) {
      // a member lies inside its cluster, below the label strip; any other node lies outside it
      if (c.members.includes(n.id)) {
        expect(n.cell).toBe(c.cell);
        expect(inside(box(n), box(c))).toBe(true);
        expect(box(n).top - box(c).top).toBeGreaterThanOrEqual(16);
      } else {
        expect(overlap(box(n), box(c))).toBe(false);
      }
    }
    for (const d of layout.clusters) {
      if (c !== d) {
        expect(overlap(box(c), box(d))).toBe(false);
      }
    }
  }
  // edges: one per input, each running from the border of its input's box down to its consumer's
  expect(layout.edges.map(e => [e.from, e.to]).sort()).toEqual(edges(lock).sort());
  for (const e of layout.edges) {
    const first = e.points[0];
    const last = e.points[e.points.length - 1];
    expect(onBorder(first, box(node(layout, e.from)))).toBe(true);
    expect(onBorder(last, box(node(layout, e.to)))).toBe(true);
    expect(first.y).toBeLessThan(last.y);
  }
}

function onBorder(p: { x: number; y: number }, b: IBox): boolean {
  const near = (u: number, v: number) => Math.abs(u - v) < 0.5;
  const within = (u: number, lo: number, hi: number) => u >= lo - 0.5 && u <= hi + 0.5;
  return (
    ((near(p.y, b.top) || near(p.y, b.bottom)) && within(p.x, b.left, b.right)) ||
    ((near(p.x, b.left) || near(p.x, b.right)) && within(p.y, b.top, b.bottom))
  );
}

describe('graph: nodes grouped with their cells', () => {
  it('draws each read inside the box of the cell that performed it, with that cell', () => {
    const lock = loadLock();
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    for (const read of [READ_CSV, READ_SQL]) {
      const cell = lock.nodes[read].cell as number;
      const cluster = clusterOfCell(layout, cell);
      expect(cluster).toBeDefined();
      expect(cluster!.members).toEqual([lock.cells[cell].node, read]);
      expect(inside(box(node(layout, read)), box(cluster!))).toBe(true);
      expect(inside(box(node(layout, lock.cells[cell].node!)), box(cluster!))).toBe(true);
    }
    // the fit and the predict sit in their cell's box too
    const fitCell = lock.nodes[FIT].cell as number;
    expect(clusterOfCell(layout, fitCell)!.members).toEqual([FIT_CELL, FIT, PREDICT]);
    // a cell that recorded nothing but itself gets no box of its own
    expect(node(layout, FEATURES_CELL).cell).toBeUndefined();
    expect(layout.clusters.map(c => c.cell).sort()).toEqual([3, 5, 7]);
    // inputs still come before what consumed them
    expect(node(layout, READ_CSV).y).toBeLessThan(node(layout, FEATURES_CELL).y);
    expect(node(layout, FIT).y).toBeLessThan(node(layout, PREDICT).y);
  });

  it('labels a cell box with its execution count and first line of code', () => {
    const lock = loadLock();
    expect(clusterLabel(lock, 3)).toBe('[4] df = pd.read_csv("transactions.csv")');
    lock.cells[3].source = '%%lock --snapshot\n';
    lock.cells[3].execution_count = null;
    expect(clusterLabel(lock, 3)).toBe('cell');
  });

  it('still lays out a read whose cell is not known, outside every cell box', () => {
    const lock = loadLock();
    delete lock.nodes[READ_SQL].cell;
    lock.cells.forEach(cell => (cell.nodes = (cell.nodes ?? []).filter(id => id !== READ_SQL)));
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    expect(node(layout, READ_SQL).cell).toBeUndefined();
    expect(layout.clusters.some(c => c.members.includes(READ_SQL))).toBe(false);
    // its cell is left with its own node only: no box
    expect(clusterOfCell(layout, 5)).toBeUndefined();
    expect(clusterOfCell(layout, 3)!.members).toContain(READ_CSV);
  });

  it('finds the cell of a node by the cells that list it when its index is wrong', () => {
    const lock = loadLock();
    lock.nodes[READ_CSV].cell = 99;
    expect(graphClusters(lock).get(3)).toEqual([lock.cells[3].node, READ_CSV]);
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    expect(node(layout, READ_CSV).cell).toBe(3);
  });

  it('keeps a superseded execution in its own box, apart from the one that replaced it', () => {
    const lock = rerun();
    const old = lock.nodes[FIT_CELL].cell as number;
    const index = lock.cells.length - 1;
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    expect(clusterOfCell(layout, old)!.members).toEqual([FIT_CELL, FIT, PREDICT]);
    expect(clusterOfCell(layout, index)!.members).toEqual(['@cell_000000000001', '@fit_000000000001', '@predict_000000000001']);
    expect(clusterOfCell(layout, index)!.label).toMatch(/^\[9\] /);
    const svg = renderGraph(lock);
    expect(svg.querySelector(`.jp-notelock-gcluster[data-cell="${old}"] title`)!.textContent).toContain('2 nodes recorded while this cell ran; an earlier run, replaced by [9]');
    expect(svg.querySelector(`.jp-notelock-gcluster[data-cell="${index}"] title`)!.textContent).toMatch(/2 nodes recorded while this cell ran$/);
  });

  it('draws no boxes, and the same rows as before, when no cell recorded anything', () => {
    const lock = loadLock();
    for (const id of Object.keys(lock.nodes)) {
      if (lock.nodes[id].op !== 'cell') {
        delete lock.nodes[id];
      }
    }
    lock.cells.forEach(cell => (cell.nodes = []));
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    expect(layout.clusters).toEqual([]);
    const rows = [...new Set(layout.nodes.map(n => n.y))].sort((a, b) => a - b);
    expect(rows[1] - rows[0]).toBe(34 + 24);
  });

  it('falls back to the boxes alone when dagre fails on the cell boxes', () => {
    const layout = dagre.layout as jest.Mock;
    layout.mockImplementationOnce(() => {
      throw new TypeError("Cannot set properties of undefined (setting 'rank')");
    });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      clearLayoutCache(); // the fixture's layout is cached by the tests before
      const lock = loadLock();
      layout.mockClear();
      const result = layoutGraph(lock);
      expect(layout).toHaveBeenCalledTimes(2);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(result.clusters).toEqual([]);
      expect(result.nodes.every(n => n.cell === undefined)).toBe(true);
      expectSoundLayout(lock, result);
    } finally {
      warn.mockRestore();
      clearLayoutCache(); // the fallback was cached for the fixture's graph
    }
  });

  it('stacks the cell boxes in execution order, so a run of cells does not climb ever wider', () => {
    // ten cells, each reading three files and using the cell before it
    const lock = chainLock(10, 3);
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    expect(layout.clusters.map(c => c.cell)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 1; i < layout.clusters.length; i++) {
      expect(box(layout.clusters[i]).top).toBeGreaterThanOrEqual(box(layout.clusters[i - 1]).bottom);
    }
    // side by side, ten boxes of three reads would be over 6,000 px wide
    const widest = Math.max(...layout.clusters.map(c => c.width));
    expect(layout.width).toBeLessThan(2 * widest);
    // the fixture's boxes too
    const fixtureLayout = layoutGraph(loadLock());
    const [first, second, third] = fixtureLayout.clusters;
    expect(box(second).top).toBeGreaterThanOrEqual(box(first).bottom);
    expect(box(third).top).toBeGreaterThanOrEqual(box(second).bottom);
  });

  it('never orders against the data: a node recorded again later may feed an earlier cell', () => {
    // the read was recorded (again) by the second execution, yet fed the fit of the first
    const lock: ILock = {
      notelock: 2,
      identity: '',
      cells: [
        { source: 'model.fit(X, y)', execution_count: 1, nodes: ['@fit_000000000001'] },
        { source: 'X = pd.read_csv("x.csv")', execution_count: 2, node: '@cell_000000000002', nodes: ['@read_000000000002'] }
      ],
      nodes: {
        '@fit_000000000001': { op: 'fit', identity: '', cell: 0, method: 'fit', estimator: 'sklearn.linear_model.Ridge', inputs: ['@read_000000000002'] },
        '@cell_000000000002': { op: 'cell', identity: '', cell: 1, inputs: [] },
        '@read_000000000002': { op: 'read', identity: '', cell: 1, reader: 'pandas.read_csv', path: 'x.csv', inputs: [] }
      }
    };
    const layout = layoutGraph(lock);
    expectSoundLayout(lock, layout);
    expect(layout.clusters.map(c => c.members)).toEqual([['@fit_000000000001'], ['@cell_000000000002', '@read_000000000002']]);
    expect(node(layout, '@read_000000000002').y).toBeLessThan(node(layout, '@fit_000000000001').y);
  });

  it('lays out an empty lock', () => {
    const layout = layoutGraph({ notelock: 2, identity: '', cells: [], nodes: {} });
    expect(layout).toMatchObject({ width: 0, height: 0, nodes: [], clusters: [], edges: [] });
  });

  it('draws the cell boxes behind the edges and nodes, one node box per node, still selectable', () => {
    const lock = loadLock();
    const selected: string[] = [];
    const svg = renderGraph(lock, { selected: READ_CSV, onSelect: id => selected.push(id) });
    expect(svg.querySelectorAll('.jp-notelock-gnode')).toHaveLength(Object.keys(lock.nodes).length);
    const clusters = Array.from(svg.querySelectorAll('.jp-notelock-gcluster'));
    expect(clusters.map(c => c.getAttribute('data-cell'))).toEqual(['3', '5', '7']);
    // the read's box names its cell's box, which lists it
    const read = svg.querySelector(`.jp-notelock-gnode[data-id="${READ_CSV}"]`)!;
    expect(read.getAttribute('data-cell')).toBe('3');
    expect(svg.querySelector('.jp-notelock-gcluster[data-cell="3"]')!.getAttribute('data-members')!.split(' ')).toContain(READ_CSV);
    expect(svg.querySelector(`.jp-notelock-gnode[data-id="${FEATURES_CELL}"]`)!.hasAttribute('data-cell')).toBe(false);
    // paint order: boxes, edges, labels, nodes
    const children = Array.from(svg.children);
    const at = (selector: string) => children.findIndex(c => c.matches(selector));
    const lastAt = (selector: string) => children.length - 1 - [...children].reverse().findIndex(c => c.matches(selector));
    expect(lastAt('.jp-notelock-gcluster')).toBeLessThan(at('.jp-notelock-graph-edge'));
    expect(lastAt('.jp-notelock-graph-edge')).toBeLessThan(at('.jp-notelock-gcluster-label'));
    expect(lastAt('.jp-notelock-gcluster-label')).toBeLessThan(at('.jp-notelock-gnode'));
    // the label, truncated to its box, with the whole line in the tooltip
    const label = svg.querySelector('.jp-notelock-gcluster-label[data-cell="3"]')!;
    expect(label.textContent).toMatch(/^\[4\] df = /);
    expect(svg.querySelector('.jp-notelock-gcluster[data-cell="3"] title')!.textContent).toContain('[4] df = pd.read_csv("transactions.csv")');
    const layout = layoutGraph(lock);
    for (const c of layout.clusters) {
      const text = svg.querySelector(`.jp-notelock-gcluster-label[data-cell="${c.cell}"]`)!.textContent!;
      expect(text.length * 6.1).toBeLessThanOrEqual(c.width - 12);
      // the label sits in the strip above the cell's boxes
      const y = Number(svg.querySelector(`.jp-notelock-gcluster-label[data-cell="${c.cell}"]`)!.getAttribute('y'));
      const firstTop = Math.min(...c.members.map(id => box(node(layout, id)).top));
      expect(y).toBeGreaterThan(box(c).top);
      expect(y).toBeLessThanOrEqual(firstTop - 2);
    }
    expect(read.classList.contains('jp-mod-selected')).toBe(true);
    read.dispatchEvent(new MouseEvent('click'));
    expect(selected).toEqual([READ_CSV]);
    expect(svg.getAttribute('aria-label')).toBe('Graph of 8 nodes, grouped in 3 cell boxes');
  });
});

describe('graph: the layout is computed once per graph', () => {
  const dagreLayout = dagre.layout as jest.Mock;

  beforeEach(() => {
    clearLayoutCache();
    dagreLayout.mockClear();
  });

  it('runs dagre again only when the nodes, edges, titles or cell boxes change', () => {
    const first = layoutGraph(loadLock());
    expect(dagreLayout).toHaveBeenCalledTimes(1);
    // a refresh: a new lock object, the same graph (other hashes, timings, run info)
    const refreshed = loadLock();
    refreshed.identity = 'sha256:' + 'f'.repeat(64);
    refreshed.nodes[READ_CSV].content = 'sha256:' + '0'.repeat(64);
    expect(layoutSignature(refreshed)).toBe(layoutSignature(loadLock()));
    expect(layoutGraph(refreshed)).toBe(first);
    expect(dagreLayout).toHaveBeenCalledTimes(1);
    // what changes the drawing does lay out again: an edge, a title, a node, a cell box
    const edge = loadLock();
    edge.nodes[PREDICT].inputs = [FIT];
    const title = loadLock();
    title.nodes[READ_CSV].path = 'other.csv';
    const more = rerun();
    const unboxed = loadLock();
    delete unboxed.nodes[READ_SQL].cell;
    unboxed.cells.forEach(cell => (cell.nodes = (cell.nodes ?? []).filter(id => id !== READ_SQL)));
    const label = loadLock();
    label.cells[3].execution_count = 12;
    const variants = [edge, title, more, unboxed, label];
    const signatures = new Set(variants.map(layoutSignature));
    expect(signatures.size).toBe(variants.length);
    expect(signatures.has(layoutSignature(loadLock()))).toBe(false);
    for (const lock of variants) {
      expect(layoutGraph(lock)).not.toBe(first);
    }
    expect(dagreLayout).toHaveBeenCalledTimes(1 + variants.length);
    expect(node(layoutGraph(title), READ_CSV).title).toBe('read_csv other.csv');
    // and going back to a graph shown before finds it again
    expect(layoutGraph(loadLock())).toBe(first);
    expect(dagreLayout).toHaveBeenCalledTimes(1 + variants.length);
  });

  it('keeps the last few layouts, dropping the least recently used', () => {
    const locks = Array.from({ length: 10 }, (_, i) => chainLock(i + 1, 1));
    locks.forEach(layoutGraph);
    expect(dagreLayout).toHaveBeenCalledTimes(10);
    layoutGraph(locks[9]);
    layoutGraph(locks[2]); // among the last eight
    expect(dagreLayout).toHaveBeenCalledTimes(10);
    layoutGraph(locks[0]); // dropped
    expect(dagreLayout).toHaveBeenCalledTimes(11);
  });

  it('makes a refresh of a 240-node graph cheap (timed)', () => {
    const lock = chainLock(60, 3);
    expect(Object.keys(lock.nodes)).toHaveLength(240);
    const time = (f: () => void) => {
      const start = performance.now();
      f();
      return performance.now() - start;
    };
    const uncached = time(() => layoutGraph(lock));
    const refreshes = [0, 1, 2].map(() => time(() => layoutGraph(JSON.parse(JSON.stringify(lock)))));
    const rendered = time(() => renderGraph(JSON.parse(JSON.stringify(lock))));
    expect(dagreLayout).toHaveBeenCalledTimes(1);
    const cached = Math.max(...refreshes);
    // the figures docs/sidebar.md quotes
    console.log(
      `layout of 240 nodes: dagre ${uncached.toFixed(0)} ms, cached ${cached.toFixed(1)} ms; ` +
        `SVG drawn from the cache ${rendered.toFixed(0)} ms`
    );
    expect(cached).toBeLessThan(uncached / 10);
  });
});
