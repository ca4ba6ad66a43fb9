/** The header of the sidebar: the notebook, its status against the lock, workflow facts. */
import { Child, badge, h } from './dom';
import { nodesInOrder, shortHash } from './model';
import { ILockReply, ILockState } from './tokens';

/** The badge's words for each state (docs/rest.md, `state`). */
const STATE_TEXT: Record<string, string> = {
  'up to date': 'up to date',
  'code changed': 'code changed',
  'metadata changed': 'metadata changed',
  'ran unsaved code': 'ran unsaved code',
  'inputs drifted': 'inputs drifted',
  unreadable: 'lock unreadable',
  missing: 'no lock yet',
  stale: 'stale'
};

const STATE_TITLE: Record<string, string> = {
  'up to date': 'The lock ran the code of the notebook as it is saved now',
  'code changed': 'Code cells of the saved notebook differ from what the lock ran: re-run them',
  'metadata changed': 'Only notebook metadata or markdown changed since the lock: the code is the same',
  'ran unsaved code': 'The lock ran code that is not saved: save the notebook',
  'inputs drifted': 'A file the lock read now holds other data',
  unreadable: 'The lock file does not load',
  missing: 'Run a %%lock cell to record one',
  stale: 'The saved notebook changed since the lock was recorded'
};

/** One line under the badge: which cells, which field, which inputs. */
export function stateDetail(state: ILockState): string {
  const cells = state.cells.map(c =>
    typeof c.index === 'number' ? `cell ${c.index}` : typeof c.execution_count === 'number' ? `[${c.execution_count}]` : 'a cell'
  );
  const list = (items: string[]) =>
    items.length > 3 ? `${items.slice(0, 3).join(', ')} and ${items.length - 3} more` : items.join(', ');
  switch (state.state) {
    case 'code changed':
      return cells.length ? `changed: ${list(cells)}` : 'the order of the cells changed';
    case 'ran unsaved code':
      return `not saved: ${list(cells)}`;
    case 'metadata changed':
      return `only ${list(state.fields)}`;
    case 'inputs drifted':
      return `changed since the lock: ${list(state.drifted.map(d => d.path))}`;
    case 'unreadable':
      return state.message;
    default:
      return '';
  }
}

/** The status badge and its detail line (the state when the server sent one). */
export function renderStatus(reply: ILockReply): HTMLElement {
  const state = reply.state;
  const key = state?.state ?? reply.status;
  const wrapper = h(
    'div',
    { class: 'jp-notelock-status-line' },
    h(
      'span',
      { class: 'jp-notelock-status', 'data-status': key, title: state?.message || STATE_TITLE[key] || '' },
      STATE_TEXT[key] ?? key
    )
  );
  const detail = state ? stateDetail(state) : '';
  if (detail) {
    wrapper.append(h('span', { class: 'jp-notelock-status-detail', title: state?.message }, detail));
  }
  if (state?.recovery) {
    wrapper.append(h('div', { class: 'jp-notelock-recovery' }, 'To recover: ', state.recovery));
  }
  return wrapper;
}

/** Header: status, workflow checksum, git commit (+ dirty), lock identity. */
export function renderHeader(reply: ILockReply): HTMLElement {
  const lock = reply.lock;
  const header = h(
    'div',
    { class: 'jp-notelock-header' },
    h(
      'div',
      { class: 'jp-notelock-header-title' },
      h('span', { class: 'jp-notelock-notebook', title: reply.path }, reply.path.split('/').pop() ?? reply.path)
    ),
    renderStatus(reply)
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

