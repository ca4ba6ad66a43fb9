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
export function renderReplay(lock: ILock | null, job: IReplayJob, onSelect?: (id: string) => void): HTMLElement {
  const section = h('div', { class: 'jp-notelock-replay', 'data-status': job.status });
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
  section.append(
    h('div', { class: 'jp-notelock-replay-title' }, 'Replay'),
    bar,
    h('div', { class: 'jp-notelock-replay-result', 'data-result': job.result ?? job.status }, headline)
  );
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

