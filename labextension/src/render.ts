/**
 * DOM rendering of a lock for the sidebar: header, node list, details,
 * environment, replay verdicts and diffs.
 *
 * Plain DOM and no JupyterLab imports: the panel composes these pieces, and
 * the unit tests render them in jsdom. All text is set with `textContent`, so
 * nothing from a lock file is ever interpreted as HTML.
 */
import { opIconSvg } from './icons';
import {
  cellOf,
  formatCount,
  lastName,
  formatDuration,
  KEY_PACKAGES,
  nodeBadges,
  nodeLabel,
  nodesInOrder,
  pythonVersion,
  shortHash
} from './model';
import {
  IDiffReply,
  ILock,
  ILockReply,
  INodeVerdict,
  IReplayJob
} from './tokens';

type Child = Node | string | null | undefined | false;

/** Create an element with classes, attributes and children. */
export function h(
  tag: string,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) {
      continue;
    }
    if (key === 'class') {
      el.className = value;
    } else {
      el.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

function icon(op: string): HTMLElement {
  const span = h('span', { class: 'jp-notelock-icon', 'data-op': op });
  // The SVG is a constant of this extension, never lock content.
  span.innerHTML = opIconSvg(op);
  return span;
}

export function badge(kind: string, text: string, title?: string): HTMLElement {
  return h(
    'span',
    { class: `jp-notelock-badge jp-notelock-badge-${kind}`, title },
    text
  );
}

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

export interface INodeListOptions {
  selected?: string | null;
  verdicts?: Map<string, INodeVerdict>;
  onSelect?: (id: string) => void;
  /** Shown right under the selected row (its details), if given. */
  expanded?: HTMLElement | null;
}

/** The nodes in execution order, one row each. */
export function renderNodeList(lock: ILock, options: INodeListOptions = {}): HTMLElement {
  const list = h('ul', { class: 'jp-notelock-nodes', role: 'listbox', 'aria-label': 'Lock nodes' });
  const durations = lock.run?.durations_s ?? {};
  for (const id of nodesInOrder(lock)) {
    const node = lock.nodes[id];
    const verdict = options.verdicts?.get(id);
    const badges = nodeBadges(lock, id, verdict);
    const item = h(
      'li',
      {
        class:
          'jp-notelock-node' +
          (options.selected === id ? ' jp-mod-selected' : '') +
          (badges.some(b => b.kind === 'diverged') ? ' jp-mod-diverged' : ''),
        'data-id': id,
        'data-op': node.op,
        role: 'option',
        tabindex: '0',
        'aria-selected': options.selected === id ? 'true' : 'false',
        title: id
      },
      icon(node.op),
      h(
        'span',
        { class: 'jp-notelock-node-main' },
        h('span', { class: 'jp-notelock-node-label' }, nodeLabel(lock, id)),
        h(
          'span',
          { class: 'jp-notelock-node-meta' },
          h('code', { class: 'jp-notelock-node-id' }, id),
          durations[id] !== undefined
            ? h('span', { class: 'jp-notelock-node-duration' }, formatDuration(durations[id]))
            : null,
          ...badges.map(b => badge(b.kind, b.text, b.title)),
          verdict ? renderVerdictTag(verdict) : null
        )
      )
    );
    if (options.onSelect) {
      const select = () => options.onSelect!(id);
      item.addEventListener('click', select);
      item.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          select();
        }
      });
    }
    list.append(item);
    if (options.selected === id && options.expanded) {
      list.append(h('li', { class: 'jp-notelock-node-expanded' }, options.expanded));
    }
  }
  if (!list.childElementCount) {
    list.append(h('li', { class: 'jp-notelock-empty' }, 'No nodes recorded yet.'));
  }
  return list;
}

function renderVerdictTag(verdict: INodeVerdict): HTMLElement {
  return h(
    'span',
    {
      class: 'jp-notelock-verdict',
      'data-verdict': verdict.verdict,
      title: verdict.detail || verdict.verdict
    },
    verdict.verdict
  );
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

function table(head: string[], rows: (string | Node)[][], cls: string): HTMLElement {
  return h(
    'table',
    { class: `jp-notelock-table ${cls}` },
    h('thead', {}, h('tr', {}, ...head.map(text => h('th', {}, text)))),
    h('tbody', {}, ...rows.map(row => h('tr', {}, ...row.map(cell => h('td', {}, cell)))))
  );
}

/** Details of one node: what it is, inputs, params, schema, hashes. */
export function renderDetails(
  lock: ILock,
  id: string,
  options: { verdict?: INodeVerdict; onSelect?: (id: string) => void } = {}
): HTMLElement {
  const node = lock.nodes[id];
  const details = h('div', { class: 'jp-notelock-details', 'data-id': id });
  if (!node) {
    details.append(h('p', { class: 'jp-notelock-empty' }, `${id} is not in this lock.`));
    return details;
  }
  details.append(
    h('div', { class: 'jp-notelock-details-title' }, icon(node.op), h('span', {}, nodeLabel(lock, id))),
    h('code', { class: 'jp-notelock-node-id' }, id)
  );
  if (options.verdict) {
    details.append(
      h('p', { class: 'jp-notelock-details-verdict' }, renderVerdictTag(options.verdict), ' ', options.verdict.detail ?? '')
    );
  }
  const facts = h('dl', { class: 'jp-notelock-facts' });
  const fact = (name: string, value: Child) => {
    if (value !== undefined && value !== null && value !== '') {
      facts.append(h('dt', {}, name), h('dd', {}, value));
    }
  };
  fact('op', node.method && node.method !== node.op ? `${node.op} (${node.method})` : node.op);
  fact('reader', node.reader);
  fact('path', node.path);
  fact('query', node.query ? h('code', {}, node.query) : null);
  fact('connection', node.connection);
  fact('estimator', node.estimator);
  if (typeof node.rows === 'number') {
    fact('shape', typeof node.columns === 'number' ? `${formatCount(node.rows)} rows × ${formatCount(node.columns)} columns` : `${formatCount(node.rows)} rows`);
  }
  if (typeof node.bytes === 'number') {
    fact('bytes', formatCount(node.bytes));
  }
  const cell = cellOf(lock, id);
  if (cell) {
    fact('cell', typeof cell.execution_count === 'number' ? `In [${cell.execution_count}]` : 'cell');
  }
  const duration = lock.run?.durations_s?.[id];
  fact('duration', duration !== undefined ? formatDuration(duration) : null);
  details.append(facts);

  const inputs = node.inputs ?? [];
  if (inputs.length) {
    const list = h('ul', { class: 'jp-notelock-inputs' });
    for (const input of inputs) {
      const link = h('a', { href: '#', 'data-id': input, title: input }, nodeLabel(lock, input));
      link.addEventListener('click', event => {
        event.preventDefault();
        options.onSelect?.(input);
      });
      list.append(h('li', {}, link, ' ', h('code', {}, input)));
    }
    details.append(h('h4', {}, 'Inputs'), list);
  }

  const params = node.params ?? node.options;
  if (params && Object.keys(params).length) {
    details.append(
      h('h4', {}, node.params ? 'Parameters' : 'Options'),
      table(
        ['name', 'value'],
        Object.keys(params)
          .sort()
          .map(key => [key, h('code', {}, valueText(params[key]))]),
        'jp-notelock-params'
      )
    );
  }

  const schema = node.schema ? lock.schemas?.[node.schema] : undefined;
  if (schema) {
    details.append(
      h('h4', {}, 'Schema ', h('code', {}, node.schema ?? '')),
      table(
        ['column', 'dtype', 'nulls'],
        schema.columns.map(column => [column.name, h('code', {}, column.dtype), column.nulls === undefined ? '' : formatCount(column.nulls)]),
        'jp-notelock-schema'
      )
    );
  }

  const hashRows: (string | Node)[][] = [];
  const hashFields = ['identity', 'output', 'content', 'snapshot', 'model', 'result', 'code', 'state_in'];
  for (const key of hashFields) {
    const value = node[key];
    if (typeof value === 'string') {
      hashRows.push([key, h('code', { title: value }, shortHash(value, 16))]);
    }
  }
  for (const group of ['args', 'reads', 'writes', 'uses'] as const) {
    const values = node[group];
    if (values && typeof values === 'object') {
      for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
        if (typeof value === 'string') {
          hashRows.push([`${group}.${name}`, h('code', { title: value }, shortHash(value, 16))]);
        }
      }
    }
  }
  if (hashRows.length) {
    details.append(h('h4', {}, 'Hashes'), table(['of', 'xxh3-128'], hashRows, 'jp-notelock-hashes'));
  }
  if (cell && node.op === 'cell') {
    details.append(h('h4', {}, 'Source'), h('pre', { class: 'jp-notelock-source' }, cell.source));
  }
  return details;
}

/** Python, key packages, threads, GPU: collapsed by default. */
export function renderEnvironment(lock: ILock): HTMLElement {
  const env = lock.environment ?? {};
  const section = h('details', { class: 'jp-notelock-environment' });
  const python = pythonVersion(lock);
  section.append(h('summary', {}, 'Environment', python ? h('span', { class: 'jp-notelock-muted' }, ` · Python ${python}`) : null));
  const facts = h('dl', { class: 'jp-notelock-facts' });
  const fact = (name: string, value: Child) => facts.append(h('dt', {}, name), h('dd', {}, value));
  fact('Python', python || 'unknown');
  const platform = env.platform as Record<string, unknown> | string | undefined;
  if (platform) {
    fact(
      'platform',
      typeof platform === 'string'
        ? platform
        : [platform.system, platform.machine, platform.distribution].filter(Boolean).join(' · ')
    );
  }
  const threads = env.threads;
  if (Array.isArray(threads)) {
    fact(
      'threads',
      threads
        .map(t => {
          const pool = t as Record<string, unknown>;
          return `${pool.internal_api ?? pool.user_api}: ${pool.num_threads}`;
        })
        .join(', ') || 'none'
    );
  } else if (threads && typeof threads === 'object') {
    fact('threads', Object.entries(threads).map(([k, v]) => `${k}: ${valueText(v)}`).join(', '));
  }
  fact('GPU', env.gpu ? valueText(env.gpu) : 'none');
  section.append(facts);
  const packages = env.packages ?? {};
  const names = Object.keys(packages);
  const key = KEY_PACKAGES.filter(name => name in packages);
  if (key.length) {
    section.append(
      h('h4', {}, 'Key packages'),
      table(['package', 'version'], key.map(name => [name, h('code', {}, packages[name])]), 'jp-notelock-packages')
    );
  }
  if (names.length) {
    section.append(
      h(
        'details',
        { class: 'jp-notelock-all-packages' },
        h('summary', {}, `All ${names.length} packages`),
        table(['package', 'version'], names.sort().map(name => [name, h('code', {}, packages[name])]), 'jp-notelock-packages')
      )
    );
  }
  return section;
}

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

function renderValue(value: unknown, depth: number): HTMLElement {
  if (value === null || typeof value !== 'object') {
    return h('code', { class: 'jp-notelock-diff-value' }, valueText(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as [string, unknown]) : Object.entries(value as Record<string, unknown>);
  if (!entries.length) {
    return h('code', { class: 'jp-notelock-diff-value' }, Array.isArray(value) ? '[]' : '{}');
  }
  const list = h('ul', { class: 'jp-notelock-diff-tree' });
  for (const [key, child] of entries) {
    const changed = /^(changed|added|removed|diverged|differs?)$/i.test(key);
    if (child !== null && typeof child === 'object') {
      list.append(
        h(
          'li',
          { class: changed ? 'jp-mod-changed' : undefined },
          h('details', depth < 2 ? { open: '' } : {}, h('summary', {}, key), renderValue(child, depth + 1))
        )
      );
    } else {
      list.append(h('li', { class: changed ? 'jp-mod-changed' : undefined }, h('span', { class: 'jp-notelock-diff-key' }, key), ': ', renderValue(child, depth + 1)));
    }
  }
  return list;
}

interface IDiffNode {
  a?: string | null;
  b?: string | null;
  op?: string;
  label?: string;
  status?: string;
  reasons?: string[];
}

function diffSection(title: string, ...content: Child[]): HTMLElement {
  return h('div', { class: 'jp-notelock-diff-section' }, h('h4', {}, title), ...content);
}

/**
 * A semantic diff (docs/diff.md): what changed first (root causes), what
 * followed, data, code and parameter changes; anything else as a tree.
 */
export function renderDiff(reply: IDiffReply): HTMLElement {
  const el = h(
    'div',
    { class: 'jp-notelock-diff' },
    h('div', { class: 'jp-notelock-diff-title' }, 'Diff ', h('code', {}, reply.a), ' → ', h('code', {}, reply.b))
  );
  const diff = reply.diff as Record<string, unknown> | null;
  if (!diff || typeof diff !== 'object' || !('identical' in diff)) {
    el.append(renderValue(reply.diff, 0)); // a shape this version does not know
    return el;
  }
  if (diff.identical) {
    el.append(
      h('div', { class: 'jp-notelock-diff-summary', 'data-identical': 'true' }, 'Identical computations: same identity, every result the same.')
    );
  }
  const list = (key: string) => (Array.isArray(diff[key]) ? (diff[key] as unknown[]) : []);
  const nodes = list('nodes') as IDiffNode[];
  const roots = list('root_causes').length;
  const consequences = list('consequences').length;
  if (!diff.identical) {
    const parts = [`${roots} root cause${roots === 1 ? '' : 's'}`, `${consequences} consequence${consequences === 1 ? '' : 's'}`];
    if (list('added').length) {
      parts.push(`${list('added').length} added`);
    }
    if (list('removed').length) {
      parts.push(`${list('removed').length} removed`);
    }
    el.append(h('div', { class: 'jp-notelock-diff-summary', 'data-identical': 'false' }, parts.join(' · ')));
  }
  if (nodes.length) {
    const ul = h('ul', { class: 'jp-notelock-diff-nodes' });
    const order = (n: IDiffNode) => (n.status === 'root cause' ? 0 : 1);
    for (const node of [...nodes].sort((x, y) => order(x) - order(y))) {
      const status = node.status ?? 'changed';
      ul.append(
        h(
          'li',
          { class: 'jp-notelock-diff-node' + (status === 'root cause' ? ' jp-mod-changed' : ''), 'data-status': status },
          badge(status.replace(/\s+/g, '-'), status),
          ' ',
          h('span', { class: 'jp-notelock-node-label' }, node.label ?? node.op ?? ''),
          ' ',
          h('code', { class: 'jp-notelock-node-id' }, node.b ?? node.a ?? ''),
          node.reasons?.length ? h('div', { class: 'jp-notelock-verdict-detail' }, node.reasons.join('; ')) : null
        )
      );
    }
    el.append(diffSection('Changed nodes', ul));
  }
  const data = list('data') as { message?: string; source?: string; status?: string }[];
  if (data.length) {
    el.append(
      diffSection('Data', h('ul', {}, ...data.map(d => h('li', {}, d.message ?? `${d.source ?? ''}: ${d.status ?? 'changed'}`))))
    );
  }
  const code = list('code') as { diff?: string; status?: string }[];
  if (code.length) {
    el.append(diffSection('Code', ...code.map(c => h('pre', { class: 'jp-notelock-source jp-notelock-diff-code' }, c.diff ?? c.status ?? ''))));
  }
  const params = list('parameters') as { estimator?: string; lines?: string[] }[];
  if (params.length) {
    el.append(
      diffSection(
        'Parameters',
        h('ul', {}, ...params.map(p => h('li', {}, h('code', {}, lastName(p.estimator)), ' ', (p.lines ?? []).join(', '))))
      )
    );
  }
  for (const key of ['workflow', 'environment']) {
    const value = diff[key];
    if (value && typeof value === 'object' && Object.keys(value).length) {
      el.append(h('details', { class: 'jp-notelock-diff-section' }, h('summary', {}, key[0].toUpperCase() + key.slice(1)), renderValue(value, 2)));
    }
  }
  return el;
}
