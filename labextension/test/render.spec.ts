/**
 * Rendering of a real lock (test/fixtures/fraud_detection.lock.json, recorded
 * by running notebooks/fraud_detection.ipynb with 3,000 rows).
 */
import { layoutGraph, renderGraph } from '../src/graph';
import {
  edges,
  findNotebookCell,
  formatDuration,
  nodeBadges,
  nodeLabel,
  nodesInOrder
} from '../src/model';
import {
  renderDetails,
  renderDiff,
  renderEnvironment,
  renderHeader,
  renderNodeList,
  renderReplay
} from '../src/render';
import { IDiffReply, ILock, ILockReply, IReplayJob } from '../src/tokens';
import diffFixture from './fixtures/diff.json';
import { FIT, FIT_CELL, loadLock, PREDICT, READ_CSV, READ_SQL } from './fixture';

function reply(lock: ILock | null, status: ILockReply['status'] = 'up to date'): ILockReply {
  return {
    path: 'fraud/fraud_detection.ipynb',
    lock_path: 'fraud/fraud_detection.lock.json',
    checksum: lock?.workflow?.checksum ?? null,
    status,
    lock
  };
}

function job(overrides: Partial<IReplayJob> = {}): IReplayJob {
  return {
    id: 'f'.repeat(32),
    path: 'fraud/fraud_detection.lock.json',
    status: 'running',
    progress: { done: 0, total: 8 },
    verdicts: [],
    messages: [],
    exit_code: null,
    result: null,
    summary: null,
    error: null,
    stderr: '',
    events: 1,
    ...overrides
  };
}

describe('order and labels', () => {
  it('lists nodes in execution order: each cell node, then what it recorded', () => {
    expect(nodesInOrder(loadLock())).toEqual([
      '@cell_e5d2cb2c65f0',
      READ_CSV,
      '@cell_8390dca52f21',
      READ_SQL,
      '@cell_486e7f437fcf',
      FIT_CELL,
      FIT,
      PREDICT
    ]);
  });

  it('de-duplicates re-executions and keeps nodes no cell names, last', () => {
    const lock = loadLock();
    lock.cells.push({ ...lock.cells[3] }); // the read cell executed again
    const orphan = { ...lock.nodes[FIT] };
    delete lock.nodes[FIT];
    lock.nodes[FIT] = orphan;
    lock.cells.forEach(cell => (cell.nodes = (cell.nodes ?? []).filter(id => id !== FIT)));
    const order = nodesInOrder(lock);
    expect(order.filter(id => id === READ_CSV)).toHaveLength(1);
    expect(order[order.length - 1]).toBe(FIT);
  });

  it('gives each kind a readable label', () => {
    const lock = loadLock();
    expect(nodeLabel(lock, READ_CSV)).toBe('read_csv transactions.csv — 3,000 × 7');
    expect(nodeLabel(lock, READ_SQL)).toBe(
      'read_sql_query “SELECT * FROM transactions WHERE date >…” — 3,000 × 7'
    );
    expect(nodeLabel(lock, FIT)).toBe('fit RandomForestClassifier');
    expect(nodeLabel(lock, PREDICT)).toBe('predict RandomForestClassifier — 750 rows');
    expect(nodeLabel(lock, FIT_CELL)).toBe(
      'cell [8] model = RandomForestClassifier(n_estimators=200…'
    );
  });

  it('formats large shapes with separators, whatever the locale', () => {
    const lock = loadLock();
    lock.nodes[READ_CSV].rows = 100000;
    expect(nodeLabel(lock, READ_CSV)).toBe('read_csv transactions.csv — 100,000 × 7');
  });

  it('formats durations', () => {
    expect(formatDuration(0.0168)).toBe('17 ms');
    expect(formatDuration(1.2638)).toBe('1.26 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
  });

  it('derives edges from inputs', () => {
    expect(edges(loadLock())).toContainEqual([FIT, PREDICT]);
    expect(edges(loadLock())).toContainEqual([READ_CSV, '@cell_486e7f437fcf']);
  });
});

describe('badges', () => {
  it('marks snapshots, cached outputs, declared nondeterminism and opaque values', () => {
    const lock = loadLock();
    lock.nodes[READ_CSV].snapshot = 'xxh3_128:' + 'a'.repeat(32);
    lock.nodes[FIT].cached = true;
    lock.nodes[FIT_CELL].contract = { verify: 'none' };
    lock.nodes[READ_SQL].opaque = ['con'];
    const kinds = (id: string) => nodeBadges(lock, id).map(b => b.kind);
    delete lock.nodes[READ_SQL].snapshot;
    expect(kinds(READ_CSV)).toEqual(['snapshotted']);
    expect(kinds(FIT)).toEqual(['cached', 'nondeterministic']); // declared on its cell
    expect(kinds(PREDICT)).toEqual(['nondeterministic']);
    expect(kinds(READ_SQL)).toEqual(['opaque']);
  });

  it('marks divergence and drift from a replay verdict', () => {
    const lock = loadLock();
    expect(nodeBadges(lock, FIT, { id: FIT, op: 'fit', verdict: 'DIVERGED', detail: 'output differs' }).map(b => b.kind)).toEqual(['diverged']);
    delete lock.nodes[READ_CSV].snapshot;
    expect(nodeBadges(lock, READ_CSV, { id: READ_CSV, op: 'read', verdict: 'DIVERGED', detail: 'source drifted' }).map(b => b.kind)).toEqual(['drifted', 'diverged']);
  });
});

describe('header', () => {
  it('shows status, workflow checksum, commit with a dirty badge, identity', () => {
    const lock = loadLock();
    lock.workflow!.git = { commit: '0123456789abcdef0123', branch: 'main', dirty: true };
    const el = renderHeader(reply(lock));
    expect(el.querySelector('.jp-notelock-status')!.textContent).toBe('up to date');
    expect(el.querySelector('.jp-notelock-checksum')!.textContent).toBe('579054d951');
    expect(el.querySelector('.jp-notelock-commit')!.textContent).toBe('0123456789');
    expect(el.querySelector('.jp-notelock-badge-dirty')!.textContent).toBe('dirty');
    expect(el.querySelector('.jp-notelock-identity')!.textContent).toBe('ce6bf73fb627');
  });

  it('has no dirty badge for a clean tree and says when git is absent', () => {
    const lock = loadLock();
    expect(renderHeader(reply(lock)).textContent).toContain('not a git repository');
    lock.workflow!.git = { commit: 'abc', dirty: false };
    expect(renderHeader(reply(lock)).querySelector('.jp-notelock-badge-dirty')).toBeNull();
  });

  it('says stale and "no lock yet"', () => {
    expect(renderHeader(reply(loadLock(), 'stale')).querySelector('.jp-notelock-status')!.textContent).toBe('stale');
    const missing = renderHeader(reply(null, 'missing'));
    expect(missing.querySelector('.jp-notelock-status')!.textContent).toBe('no lock yet');
    expect(missing.textContent).toContain('%%lock');
  });
});

describe('node list', () => {
  it('renders one row per node with icon, label, id, duration', () => {
    const el = renderNodeList(loadLock());
    const rows = Array.from(el.querySelectorAll('.jp-notelock-node'));
    expect(rows).toHaveLength(8);
    const fit = el.querySelector(`[data-id="${FIT}"]`)!;
    expect(fit.getAttribute('data-op')).toBe('fit');
    expect(fit.querySelector('.jp-notelock-icon svg')).not.toBeNull();
    expect(fit.querySelector('.jp-notelock-node-label')!.textContent).toBe('fit RandomForestClassifier');
    expect(fit.querySelector('.jp-notelock-node-id')!.textContent).toBe(FIT);
    expect(fit.querySelector('.jp-notelock-node-duration')!.textContent).toBe('5.25 s');
  });

  it('selects a node on click and on Enter', () => {
    const selected: string[] = [];
    const el = renderNodeList(loadLock(), { onSelect: id => selected.push(id), selected: PREDICT });
    (el.querySelector(`[data-id="${FIT}"]`) as HTMLElement).click();
    el.querySelector(`[data-id="${READ_CSV}"]`)!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(selected).toEqual([FIT, READ_CSV]);
    expect(el.querySelector('.jp-mod-selected')!.getAttribute('data-id')).toBe(PREDICT);
  });

  it('opens the details right under the selected row', () => {
    const details = document.createElement('div');
    const el = renderNodeList(loadLock(), { selected: FIT, expanded: details });
    expect(el.querySelector(`[data-id="${FIT}"]`)!.nextElementSibling!.firstChild).toBe(details);
    expect(el.querySelectorAll('.jp-notelock-node')).toHaveLength(8);
  });

  it('highlights diverged nodes', () => {
    const verdicts = new Map([[FIT, { id: FIT, op: 'fit', verdict: 'DIVERGED', detail: 'x' }]]);
    const el = renderNodeList(loadLock(), { verdicts });
    expect(Array.from(el.querySelectorAll('.jp-mod-diverged')).map(e => e.getAttribute('data-id'))).toEqual([FIT]);
  });

  it('never interprets lock text as HTML', () => {
    const lock = loadLock();
    lock.nodes[READ_CSV].path = '<img src=x onerror="alert(1)">.csv';
    const el = renderNodeList(lock);
    expect(el.querySelector('img')).toBeNull();
    expect(el.textContent).toContain('<img src=x');
  });
});

describe('details', () => {
  it('shows a read with its schema table and hashes', () => {
    const el = renderDetails(loadLock(), READ_CSV);
    const rows = el.querySelectorAll('.jp-notelock-schema tbody tr');
    expect(rows).toHaveLength(7);
    expect(rows[1].textContent).toBe('amountfloat640');
    expect(el.querySelector('.jp-notelock-hashes')!.textContent).toContain('content');
    expect(el.textContent).toContain('3,000 rows × 7 columns');
    expect(el.textContent).toContain('In [4]');
  });

  it('shows a fit with its parameters and links its inputs', () => {
    const selected: string[] = [];
    const el = renderDetails(loadLock(), FIT, { onSelect: id => selected.push(id) });
    const params = Array.from(el.querySelectorAll('.jp-notelock-params tbody tr')).map(r => r.textContent);
    expect(params).toContain('n_estimators200');
    expect(params).toContain('max_depth10');
    const input = loadLock().nodes[FIT].inputs![0];
    (el.querySelector(`.jp-notelock-inputs a[data-id="${input}"]`) as HTMLElement).click();
    expect(selected).toEqual([input]);
  });

  it('shows the source of a cell node', () => {
    const el = renderDetails(loadLock(), FIT_CELL);
    expect(el.querySelector('.jp-notelock-source')!.textContent).toContain('model.fit(train[features]');
  });
});

describe('environment', () => {
  it('is collapsed by default and names Python, key packages, threads, GPU', () => {
    const el = renderEnvironment(loadLock()) as HTMLDetailsElement;
    expect(el.tagName).toBe('DETAILS');
    expect(el.open).toBe(false);
    expect(el.querySelector('summary')!.textContent).toBe('Environment · Python 3.11.7');
    const key = Array.from(el.querySelectorAll('.jp-notelock-packages'))[0];
    expect(key.textContent).toContain('scikit-learn');
    expect(el.textContent).toContain('openblas: 2');
    expect(el.textContent).toContain('GPUnone');
  });
});

describe('replay', () => {
  it('shows progress while running', () => {
    const el = renderReplay(loadLock(), job({ progress: { done: 3, total: 8 } }));
    const bar = el.querySelector('progress')!;
    expect(bar.getAttribute('value')).toBe('3');
    expect(bar.getAttribute('max')).toBe('8');
    expect(el.textContent).toContain('Replaying… 3 / 8 nodes');
  });

  it('shows the verdicts and highlights divergences', () => {
    const done = job({
      status: 'done',
      result: 'diverged',
      exit_code: 1,
      progress: { done: 2, total: 2 },
      verdicts: [
        { id: READ_CSV, op: 'read', verdict: 'reproduced', detail: '' },
        { id: FIT, op: 'fit', verdict: 'DIVERGED', detail: 'fitted state differs' }
      ]
    });
    const el = renderReplay(loadLock(), done);
    expect(el.querySelector('.jp-notelock-replay-result')!.textContent).toBe('diverged');
    const rows = el.querySelectorAll('.jp-notelock-verdict-row');
    expect(rows).toHaveLength(2);
    expect(rows[1].classList.contains('jp-mod-diverged')).toBe(true);
    expect(rows[1].textContent).toContain('fitted state differs');
  });

  it('says reproduced, and explains a failure', () => {
    expect(renderReplay(null, job({ status: 'done', result: 'reproduced', exit_code: 0 })).querySelector('.jp-notelock-replay-result')!.textContent).toBe('reproduced');
    const failed = renderReplay(null, job({ status: 'failed', error: 'the replay command exited with status 3', stderr: 'boom' }));
    expect(failed.textContent).toContain('Replay failed: the replay command exited with status 3');
    expect(failed.querySelector('pre')!.textContent).toBe('boom');
  });
});

describe('graph', () => {
  it('lays out every node once, inside the drawing, without overlaps', () => {
    const lock = loadLock();
    const layout = layoutGraph(lock);
    expect(layout.nodes.map(n => n.id)).toEqual(nodesInOrder(lock));
    expect(layout.edges).toHaveLength(edges(lock).length);
    for (const n of layout.nodes) {
      expect(n.x - n.width / 2).toBeGreaterThanOrEqual(0);
      expect(n.y + n.height / 2).toBeLessThanOrEqual(layout.height);
    }
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a !== b) {
          const apart = Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2;
          expect(apart).toBe(true);
        }
      }
    }
    // an input is drawn above what consumed it
    const y = (id: string) => layout.nodes.find(n => n.id === id)!.y;
    expect(y(FIT)).toBeLessThan(y(PREDICT));
  });

  it('draws an SVG with a box per node and a path per edge, selectable', () => {
    const selected: string[] = [];
    const svg = renderGraph(loadLock(), { onSelect: id => selected.push(id), selected: FIT });
    expect(svg.querySelectorAll('.jp-notelock-gnode')).toHaveLength(8);
    expect(svg.querySelectorAll('.jp-notelock-graph-edge')).toHaveLength(edges(loadLock()).length);
    const fit = svg.querySelector(`[data-id="${FIT}"]`)!;
    expect(fit.classList.contains('jp-mod-selected')).toBe(true);
    expect(fit.querySelector('.jp-notelock-gnode-id')!.textContent).toBe(FIT);
    fit.dispatchEvent(new MouseEvent('click'));
    expect(selected).toEqual([FIT]);
  });
});

describe('notebook cells and diffs', () => {
  it('finds the cell that produced a node by source, preferring the execution count', () => {
    const lock = loadLock();
    const source = lock.cells[7].source;
    const cells = [
      { source: '%load_ext notelock', executionCount: 1 },
      { source, executionCount: 3 },
      { source: source + '\n', executionCount: 8 }
    ];
    expect(findNotebookCell(lock.cells[7], cells)).toBe(2);
    expect(findNotebookCell(lock.cells[7], cells.slice(0, 2))).toBe(1);
    expect(findNotebookCell({ source: 'gone', execution_count: 1 }, cells)).toBe(0);
    expect(findNotebookCell(undefined, cells)).toBe(-1);
  });

  it('renders a semantic diff: root causes first, then consequences and data', () => {
    const el = renderDiff(diffFixture as unknown as IDiffReply);
    expect(el.querySelector('.jp-notelock-diff-summary')!.textContent).toBe('2 root causes · 4 consequences');
    const rows = Array.from(el.querySelectorAll('.jp-notelock-diff-node'));
    expect(rows[0].getAttribute('data-status')).toBe('root cause');
    expect(rows[0].textContent).toContain('read_csv transactions.csv');
    expect(rows.map(r => r.getAttribute('data-status'))).toContain('consequence');
    expect(el.textContent).toContain('transactions.csv: content changed: rows 3000 → 2500');
  });

  it('says when two locks are identical', () => {
    const el = renderDiff({ a: 'a.lock.json', b: 'b.lock.json', diff: { identical: true, nodes: [], root_causes: [], consequences: [] } });
    expect(el.querySelector('.jp-notelock-diff-summary')!.textContent).toContain('Identical computations');
  });

  it('renders an unknown diff shape as a tree', () => {
    const el = renderDiff({ a: 'a.lock.json', b: 'b.lock.json', diff: { nodes: { changed: [FIT] }, identity: { a: 'x', b: 'y' } } });
    expect(el.textContent).toContain('a.lock.json → b.lock.json');
    expect(el.querySelector('.jp-mod-changed')!.textContent).toContain(FIT);
  });
});
