/** A replay: progress while it runs, then the result and every verdict. */
import { h, renderVerdictTag } from './dom';
import { nodeLabel } from './model';
import { ILock, IReplayJob } from './tokens';

const RESULT_TEXT: Record<string, string> = {
  reproduced: 'reproduced',
  diverged: 'diverged',
  unusable: 'could not replay'
};

/** A replay: progress while it runs, then the result and every verdict. */
export interface IReplayOptions {
  onSelect?: (id: string) => void;
  /** The close button of the panel. */
  onClose?: () => void;
  /** "Replay on current data" (`--against-current`), offered after drift. */
  onReplayCurrent?: () => void;
  /** The lock changed since this replay: its verdicts are of an earlier lock. */
  stale?: boolean;
}

/** Inputs a finished replay served from snapshots because their source changed. */
export function driftedInputs(job: IReplayJob): string[] {
  const drifted = (job.summary as { drifted?: unknown } | null)?.drifted;
  return Array.isArray(drifted) ? (drifted as string[]) : [];
}

export function renderReplay(lock: ILock | null, job: IReplayJob, options: IReplayOptions = {}): HTMLElement {
  const onSelect = options.onSelect;
  const section = h('div', { class: 'jp-notelock-replay', 'data-status': job.status, role: 'region', 'aria-label': 'Replay' });
  const total = job.progress.total ?? 0;
  const done = job.progress.done;
  const bar = h('progress', {
    class: 'jp-notelock-progress',
    max: String(Math.max(total, 1)),
    value: String(job.status === 'running' ? done : Math.max(total, done, 1))
  });
  let headline: string;
  if (job.status === 'running') {
    headline = total ? `Replaying… ${done} / ${total} nodes` : 'Replaying…';
  } else if (job.status === 'cancelled') {
    headline = 'Replay cancelled';
  } else if (job.status === 'failed') {
    headline = `Replay failed: ${job.error ?? 'the replay command crashed'}`;
  } else {
    headline = RESULT_TEXT[job.result ?? ''] ?? `finished (exit ${job.exit_code})`;
  }
  const drifted = job.status === 'done' ? driftedInputs(job) : [];
  const fromSnapshots = drifted.length > 0 && job.result === 'reproduced' && !job.against_current;
  const told = (job.summary as { headline?: unknown } | null)?.headline;
  if (job.status === 'done' && typeof told === 'string' && told) {
    headline = told; // the CLI's own words (notelock.core.replay.headline)
  } else if (fromSnapshots) {
    headline = `reproduced from snapshots — ${drifted.length} input${drifted.length === 1 ? '' : 's'} changed since the lock`;
  }
  const title = h('div', { class: 'jp-notelock-replay-title' }, job.against_current ? 'Replay on current data' : 'Replay');
  if (options.onClose) {
    const close = h('button', { class: 'jp-notelock-close', type: 'button', 'aria-label': 'Close the replay', title: 'Close' }, '×');
    close.addEventListener('click', options.onClose);
    title.append(close);
  }
  section.append(
    title,
    bar,
    h(
      'div',
      { class: 'jp-notelock-replay-result', 'data-result': fromSnapshots ? 'drifted' : job.result ?? job.status },
      headline
    )
  );
  if (options.stale) {
    section.append(h('div', { class: 'jp-notelock-stale-note' }, 'The lock changed since this replay: these verdicts are of the earlier lock.'));
  }
  if (fromSnapshots && options.onReplayCurrent) {
    const again = h('button', { class: 'jp-Button jp-mod-styled jp-mod-accept jp-notelock-replay-current', type: 'button' }, 'Replay on current data');
    again.title = 'Replay with today\'s data instead of the snapshots (notelock replay --against-current), to see what the change does downstream';
    again.addEventListener('click', options.onReplayCurrent);
    section.append(again);
  }
  if (job.verdicts.length) {
    const list = h('ul', { class: 'jp-notelock-verdicts' });
    for (const verdict of job.verdicts) {
      const diverged = verdict.verdict === 'DIVERGED';
      const item = h(
        'li',
        { class: 'jp-notelock-verdict-row' + (diverged ? ' jp-mod-diverged' : ''), 'data-id': verdict.id },
        renderVerdictTag(verdict),
        ' ',
        h('span', { class: 'jp-notelock-node-label' }, lock && lock.nodes[verdict.id] ? nodeLabel(lock, verdict.id) : verdict.op),
        ' ',
        h('code', { class: 'jp-notelock-node-id' }, verdict.id),
        verdict.detail ? h('div', { class: 'jp-notelock-verdict-detail' }, verdict.detail) : null
      );
      if (onSelect) {
        item.addEventListener('click', () => onSelect(verdict.id));
      }
      list.append(item);
    }
    section.append(list);
  }
  for (const message of job.messages) {
    section.append(h('div', { class: 'jp-notelock-message' }, message));
  }
  if (job.status === 'failed' && job.stderr) {
    section.append(h('details', {}, h('summary', {}, 'Output of the replay command'), h('pre', {}, job.stderr)));
  }
  return section;
}

