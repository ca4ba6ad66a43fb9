/**
 * The views added for what users open the sidebar for: the status badge,
 * superseded executions folded, lineage of models, drift after a replay,
 * keyboard navigation in the list.
 */
import { renderStatus } from '../src/header';
import { currentNodes, upstreamSources } from '../src/model';
import { renderDetails, renderNodeList } from '../src/nodes';
import { renderReplay } from '../src/replay';
import { ILockReply, ILockState, IReplayJob } from '../src/tokens';
import { FIT, FIT_CELL, loadLock, PREDICT, READ_CSV, READ_SQL, rerun } from './fixture';

function state(overrides: Partial<ILockState>): ILockState {
  return { state: 'up to date', message: '', cells: [], fields: [], drifted: [], checksum: null, recovery: null, inputs: 'stat', ...overrides };
}

function reply(s: ILockState): ILockReply {
  return { path: 'fraud_detection.ipynb', lock_path: 'fraud_detection.lock.json', checksum: null, status: 'stale', state: s, lock: loadLock() };
}

describe('status badge', () => {
  it('says metadata changed without alarm, naming the field', () => {
    const el = renderStatus(reply(state({ state: 'metadata changed', fields: ['metadata.kernelspec.display_name'] })));
    expect(el.querySelector('.jp-notelock-status')!.textContent).toBe('metadata changed');
    expect(el.querySelector('.jp-notelock-status-detail')!.textContent).toBe('only metadata.kernelspec.display_name');
  });

  it('names the changed and the unsaved cells', () => {
    const cells = [{ change: 'edited', line: 'x', index: 3 }, { change: 'not run', line: 'y', index: 5 }];
    expect(renderStatus(reply(state({ state: 'code changed', cells }))).textContent).toContain('changed: cell 3, cell 5');
    const unsaved = renderStatus(reply(state({ state: 'ran unsaved code', cells: [{ change: 'unsaved', line: '', index: 7 }] })));
    expect(unsaved.querySelector('.jp-notelock-status')!.getAttribute('data-status')).toBe('ran unsaved code');
    expect(unsaved.textContent).toContain('not saved: cell 7');
  });

  it('names drifted inputs, and the recovery of an unreadable lock', () => {
    const drifted = [{ node: READ_CSV, path: 'transactions.csv', recorded: 'a', current: 'b', reason: 'content' }];
    expect(renderStatus(reply(state({ state: 'inputs drifted', drifted }))).textContent).toContain('changed since the lock: transactions.csv');
    const broken = renderStatus(reply(state({ state: 'unreadable', message: 'nb.lock.json: invalid JSON', recovery: 'rebuild it with `notelock lock nb.ipynb`' })));
    expect(broken.querySelector('.jp-notelock-status')!.textContent).toBe('lock unreadable');
    expect(broken.querySelector('.jp-notelock-recovery')!.textContent).toContain('notelock lock nb.ipynb');
  });
});

describe('re-executions', () => {
  it('shows the current nodes and folds the superseded ones under them', () => {
    const lock = rerun();
    const { order, folded } = currentNodes(lock);
    expect(order).not.toContain(FIT);
    expect(order).toContain('@fit_000000000001');
    expect(folded.get('@fit_000000000001')).toEqual([FIT]);
    expect(folded.get('@predict_000000000001')).toEqual([PREDICT]);
    expect(folded.get('@cell_000000000001')).toEqual([FIT_CELL]);
    const el = renderNodeList(lock);
    const fits = [...el.querySelectorAll('.jp-notelock-node[data-op="fit"]')];
    expect(fits.filter(f => !f.classList.contains('jp-mod-superseded')).map(f => f.getAttribute('data-id'))).toEqual(['@fit_000000000001']);
    const fold = el.querySelector(`.jp-notelock-superseded:has([data-id="${FIT}"])`) as HTMLDetailsElement;
    expect(fold.open).toBe(false);
    expect(fold.querySelector('summary')!.textContent).toBe('1 earlier run');
  });
});

describe('lineage', () => {
  it('names the sources of a model and of a prediction, with shape and content hash', () => {
    const lock = loadLock();
    const sources = upstreamSources(lock, PREDICT);
    expect(sources.map(s => s.id)).toEqual([READ_CSV]);
    expect(sources[0].where).toBe('transactions.csv');
    expect(sources[0].shape).toBe('3,000 × 7');
    expect(sources[0].content).toBe(lock.nodes[READ_CSV].content);
    expect(upstreamSources(lock, READ_SQL)).toEqual([]);
  });

  it('selects the source in one click from the row and from the details', () => {
    const picked: string[] = [];
    const list = renderNodeList(loadLock(), { onSelect: id => picked.push(id) });
    (list.querySelector(`[data-id="${FIT}"] .jp-notelock-source-link`) as HTMLElement).click();
    const drifted = new Map([[READ_CSV, 'other bytes']]);
    const details = renderDetails(loadLock(), FIT, { onSelect: id => picked.push(id), drifted });
    const row = details.querySelector('.jp-notelock-sources tbody tr')!;
    expect(row.textContent).toContain('transactions.csv');
    expect(row.textContent).toContain('3,000 × 7');
    expect(row.querySelector('.jp-notelock-badge-drifted')).not.toBeNull();
    (row.querySelector('.jp-notelock-source-link') as HTMLElement).click();
    expect(picked).toEqual([READ_CSV, READ_CSV]);
  });
});

describe('keyboard', () => {
  it('moves through the options with the arrows and opens one with Enter', () => {
    const picked: string[] = [];
    const list = renderNodeList(loadLock(), { onSelect: id => picked.push(id) });
    document.body.append(list);
    const rows = [...list.querySelectorAll<HTMLElement>('.jp-notelock-node')];
    expect(rows.filter(r => r.tabIndex === 0)).toHaveLength(1); // one tab stop
    rows[0].focus();
    rows[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(document.activeElement).toBe(rows[1]);
    rows[1].dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    expect(document.activeElement).toBe(rows[rows.length - 1]);
    const enter = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
    rows[rows.length - 1].dispatchEvent(enter);
    expect(picked).toEqual([rows[rows.length - 1].dataset.id]);
    expect(enter.defaultPrevented).toBe(true);
    list.remove();
  });
});

describe('drift after a replay', () => {
  const done = (overrides: Partial<IReplayJob>): IReplayJob => ({
    id: 'f'.repeat(32), path: 'x.lock.json', status: 'done', progress: { done: 8, total: 8 }, verdicts: [], messages: [],
    exit_code: 0, result: 'reproduced', summary: { drifted: [READ_CSV] }, error: null, stderr: '', events: 9, ...overrides
  });

  it('is an amber headline with "Replay on current data"', () => {
    let again = 0;
    const el = renderReplay(loadLock(), done({}), { onReplayCurrent: () => again++ });
    const headline = el.querySelector('.jp-notelock-replay-result')!;
    expect(headline.textContent).toBe('reproduced from snapshots — 1 input changed since the lock');
    expect(headline.getAttribute('data-result')).toBe('drifted');
    (el.querySelector('.jp-notelock-replay-current') as HTMLElement).click();
    expect(again).toBe(1);
  });

  it('closes, and says when its verdicts are of an earlier lock', () => {
    let closed = 0;
    const el = renderReplay(loadLock(), done({ summary: { drifted: [] } }), { onClose: () => closed++, stale: true });
    expect(el.querySelector('.jp-notelock-replay-result')!.textContent).toBe('reproduced');
    expect(el.querySelector('.jp-notelock-replay-current')).toBeNull();
    expect(el.querySelector('.jp-notelock-stale-note')).not.toBeNull();
    (el.querySelector('button[aria-label="Close the replay"]') as HTMLElement).click();
    expect(closed).toBe(1);
  });
});
