/** The header of the sidebar: the notebook, its status against the lock, workflow facts. */
import { Child, badge, h } from './dom';
import { nodesInOrder, shortHash } from './model';
import { ILockReply } from './tokens';

const STATUS_TEXT: Record<string, string> = {
  'up to date': 'up to date',
  stale: 'stale',
  missing: 'no lock yet'
};

const STATUS_TITLE: Record<string, string> = {
  'up to date': 'The lock was recorded from the notebook as it is saved now',
  stale: 'The saved notebook changed since the lock was recorded',
  missing: 'Run a %%lock cell to record one'
};

/** Header: status, workflow checksum, git commit (+ dirty), lock identity. */
export function renderHeader(reply: ILockReply): HTMLElement {
  const status = reply.status;
  const lock = reply.lock;
  const header = h(
    'div',
    { class: 'jp-notelock-header' },
    h(
      'div',
      { class: 'jp-notelock-header-title' },
      h('span', { class: 'jp-notelock-notebook', title: reply.path }, reply.path.split('/').pop() ?? reply.path),
      h(
        'span',
        {
          class: 'jp-notelock-status',
          'data-status': status,
          title: STATUS_TITLE[status] ?? ''
        },
        STATUS_TEXT[status] ?? status
      )
    )
  );
  if (!lock) {
    header.append(
      h(
        'p',
        { class: 'jp-notelock-empty' },
        'No lock file yet. Load the extension with ',
        h('code', {}, '%load_ext notelock'),
        ' and run a ',
        h('code', {}, '%%lock'),
        ' cell.'
      )
    );
    return header;
  }
  const workflow = lock.workflow ?? {};
  const git = workflow.git ?? {};
  const facts = h('dl', { class: 'jp-notelock-facts' });
  const fact = (name: string, value: Child, title?: string) => {
    facts.append(h('dt', {}, name), h('dd', { title }, value));
  };
  fact(
    'workflow',
    h('code', { class: 'jp-notelock-checksum' }, shortHash(workflow.checksum, 10) || '—'),
    workflow.checksum
  );
  if (git.commit) {
    const commit = h('span', {}, h('code', { class: 'jp-notelock-commit' }, git.commit.slice(0, 10)));
    if (git.branch) {
      commit.append(' ', h('span', { class: 'jp-notelock-branch' }, git.branch));
    }
    if (git.dirty) {
      commit.append(' ', badge('dirty', 'dirty', 'Uncommitted changes when the lock was recorded'));
    }
    fact('git', commit, git.commit);
  } else {
    fact('git', h('span', { class: 'jp-notelock-muted' }, 'not a git repository'));
  }
  fact('identity', h('code', { class: 'jp-notelock-identity' }, shortHash(lock.identity)), lock.identity);
  const count = nodesInOrder(lock).length;
  fact('nodes', `${count}`);
  header.append(facts);
  return header;
}

