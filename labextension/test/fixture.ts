/**
 * What the spec files share: the recorded lock (test/fixtures/
 * fraud_detection.lock.json, from notebooks/fraud_detection.ipynb with 3,000
 * rows), the ids of its nodes, and the same lock after a re-run.
 */
import { ILock } from '../src/tokens';
import fixture from './fixtures/fraud_detection.lock.json';

export const READ_CSV = '@read_f18b7bd21912';
export const READ_SQL = '@read_5126b9dd3c4d';
export const FIT = '@fit_81a90cbe52da';
export const PREDICT = '@predict_1f560ec59c4a';
export const FIT_CELL = '@cell_57efe8228a71';
export const FEATURES_CELL = '@cell_486e7f437fcf';

/** A fresh copy per test, so tests may edit it. */
export function loadLock(): ILock {
  return JSON.parse(JSON.stringify(fixture)) as ILock;
}

/**
 * The fixture with the fit cell run a second time (execution count 9): a
 * new cell node, fit and predict, the old ones superseded.
 */
export function rerun(): ILock {
  const lock = loadLock();
  const old = lock.nodes[FIT_CELL].cell as number;
  const cell = { ...lock.cells[old], execution_count: 9, node: '@cell_000000000001', nodes: ['@fit_000000000001', '@predict_000000000001'] };
  lock.cells.push(cell);
  lock.cells[old].superseded_by = lock.cells.length - 1;
  const index = lock.cells.length - 1;
  lock.nodes['@cell_000000000001'] = { ...lock.nodes[FIT_CELL], cell: index };
  lock.nodes['@fit_000000000001'] = { ...lock.nodes[FIT], cell: index, inputs: ['@cell_000000000001'], params: { max_depth: 5 } };
  lock.nodes['@predict_000000000001'] = { ...lock.nodes[PREDICT], cell: index, inputs: ['@fit_000000000001', '@cell_000000000001'] };
  for (const id of [FIT_CELL, FIT, PREDICT]) {
    lock.nodes[id].superseded = true;
  }
  return lock;
}

/**
 * A lock of `cells` executions, each reading `reads` files and using the
 * cell before it: `cells × (reads + 1)` nodes in cell boxes stacked down.
 */
export function chainLock(cells: number, reads: number): ILock {
  const lock: ILock = { notelock: 2, identity: '', cells: [], nodes: {} };
  let previous: string | undefined;
  for (let c = 0; c < cells; c++) {
    const own = `@cell_${String(c).padStart(12, '0')}`;
    const ids = Array.from({ length: reads }, (_, r) => `@read_${String(c * 10 + r).padStart(12, '0')}`);
    lock.cells.push({ source: `part${c} = combine()`, execution_count: c + 1, node: own, nodes: ids });
    lock.nodes[own] = { op: 'cell', identity: '', cell: c, inputs: [...(previous ? [previous] : []), ...ids] };
    for (const r of ids) {
      lock.nodes[r] = { op: 'read', identity: '', cell: c, reader: 'pandas.read_csv', path: `${r.slice(1)}.csv`, inputs: [] };
    }
    previous = own;
  }
  return lock;
}
