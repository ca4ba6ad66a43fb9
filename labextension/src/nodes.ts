/** The node list and a node's details. */
import { Child, badge, h, icon, renderVerdictTag, table, valueText } from './dom';
import {
  cellOf,
  formatCount,
  formatDuration,
  nodeBadges,
  nodeLabel,
  currentNodes,
  shortHash,
  upstreamSources
} from './model';
import { ILock, INodeVerdict } from './tokens';

export interface INodeListOptions {
  selected?: string | null;
  verdicts?: Map<string, INodeVerdict>;
  /** A click (or Enter) on a row. */
  onSelect?: (id: string) => void;
  /** Shown right under the selected row (its details), if given. */
  expanded?: HTMLElement | null;
  /** Inputs drifted since the lock (node id → why), from the status. */
  drifted?: Map<string, string>;
}

function nodeRow(lock: ILock, id: string, options: INodeListOptions, superseded: boolean): HTMLElement {
  const node = lock.nodes[id];
  const durations = lock.run?.durations_s ?? {};
  const verdict = options.verdicts?.get(id);
  const badges = nodeBadges(lock, id, verdict);
  const drift = options.drifted?.get(id);
  if (drift && !badges.some(b => b.kind === 'drifted')) {
    badges.push({ kind: 'drifted', text: 'drifted', title: drift });
  }
  const selected = options.selected === id;
  const item = h(
    'li',
    {
      class:
        'jp-notelock-node' +
        (selected ? ' jp-mod-selected' : '') +
        (superseded ? ' jp-mod-superseded' : '') +
        (badges.some(b => b.kind === 'diverged') ? ' jp-mod-diverged' : ''),
      'data-id': id,
      'data-op': node.op,
      role: 'option',
      // roving tabindex: one stop for the list, arrows move inside it
      tabindex: selected ? '0' : '-1',
      'aria-selected': selected ? 'true' : 'false',
      title: id
    },
    icon(node.op),
    h(
      'span',
      { class: 'jp-notelock-node-main' },
      h('span', { class: 'jp-notelock-node-label' }, nodeLabel(lock, id)),
      ['fit', 'predict', 'transform', 'score'].includes(node.op) && !superseded ? renderLineage(lock, id, options) : null,
      h(
        'span',
        { class: 'jp-notelock-node-meta' },
        h('code', { class: 'jp-notelock-node-id' }, id),
        superseded ? badge('superseded', 'earlier run', 'A later execution of the same cell replaced this one') : null,
        durations[id] !== undefined ? h('span', { class: 'jp-notelock-node-duration' }, formatDuration(durations[id])) : null,
        ...badges.map(b => badge(b.kind, b.text, b.title)),
        verdict ? renderVerdictTag(verdict) : null
      )
    )
  );
  if (options.onSelect) {
    item.addEventListener('click', event => {
      if (!(event.target as HTMLElement).closest('.jp-notelock-source-link')) {
        options.onSelect!(id);
      }
    });
  }
  return item;
}

/** The data a model or prediction came from, as links to the read nodes. */
function renderLineage(lock: ILock, id: string, options: INodeListOptions): HTMLElement | null {
  const sources = upstreamSources(lock, id);
  if (!sources.length) {
    return null;
  }
  const line = h('span', { class: 'jp-notelock-lineage' }, 'from ');
  sources.forEach((source, i) => {
    const drift = options.drifted?.get(source.id);
    const link = h(
      'a',
      {
        href: '#',
        class: 'jp-notelock-source-link' + (drift ? ' jp-mod-drifted' : ''),
        'data-id': source.id,
        title: `${source.where}${source.shape ? ' — ' + source.shape : ''}\n${source.content}${drift ? '\n' + drift : ''}`
      },
      source.where.split('/').pop() ?? source.where
    );
    link.addEventListener('click', event => {
      event.preventDefault();
      event.stopPropagation();
      options.onSelect?.(source.id);
    });
    line.append(i ? ', ' : '', link);
  });
  return line;
}

/** Arrow keys, Home and End move through the options; Enter or Space opens one. */
function listKeys(list: HTMLElement, onSelect?: (id: string) => void): void {
  list.addEventListener('keydown', event => {
    const options = [...list.querySelectorAll<HTMLElement>('.jp-notelock-node')].filter(el => !el.closest('details:not([open])'));
    const current = (event.target as HTMLElement).closest<HTMLElement>('.jp-notelock-node');
    if (!current || !options.length) {
      return;
    }
    const index = options.indexOf(current);
    let next: HTMLElement | undefined;
    switch (event.key) {
      case 'ArrowDown':
        next = options[Math.min(index + 1, options.length - 1)];
        break;
      case 'ArrowUp':
        next = options[Math.max(index - 1, 0)];
        break;
      case 'Home':
        next = options[0];
        break;
      case 'End':
        next = options[options.length - 1];
        break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        event.stopPropagation(); // never to the notebook's command handler
        onSelect?.(current.dataset.id as string);
        return;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
    for (const option of options) {
      option.tabIndex = option === next ? 0 : -1;
    }
    next?.focus();
  });
}

/**
 * The kernel's current nodes in execution order, one row each, with the
 * nodes a re-execution superseded folded under the row that replaced them.
 */
export function renderNodeList(lock: ILock, options: INodeListOptions = {}): HTMLElement {
  const list = h('ul', { class: 'jp-notelock-nodes', role: 'listbox', 'aria-label': 'Lock nodes' });
  const { order, folded } = currentNodes(lock);
  for (const id of order) {
    list.append(nodeRow(lock, id, options, !!lock.nodes[id].superseded));
    if (options.selected === id && options.expanded) {
      list.append(h('li', { class: 'jp-notelock-node-expanded', role: 'presentation' }, options.expanded));
    }
    const earlier = folded.get(id) ?? [];
    if (earlier.length) {
      const group = h('ul', { class: 'jp-notelock-superseded-list', role: 'group', 'aria-label': 'Earlier runs' });
      for (const old of earlier) {
        group.append(nodeRow(lock, old, options, true));
        if (options.selected === old && options.expanded) {
          group.append(h('li', { class: 'jp-notelock-node-expanded', role: 'presentation' }, options.expanded));
        }
      }
      const fold = h(
        'details',
        { class: 'jp-notelock-superseded' },
        h('summary', {}, `${earlier.length} earlier run${earlier.length === 1 ? '' : 's'}`),
        group
      ) as HTMLDetailsElement;
      fold.open = earlier.includes(options.selected ?? '');
      list.append(h('li', { class: 'jp-notelock-superseded-item', role: 'presentation' }, fold));
    }
  }
  if (!list.querySelector('[tabindex="0"]')) {
    list.querySelector<HTMLElement>('.jp-notelock-node')?.setAttribute('tabindex', '0');
  }
  if (!list.childElementCount) {
    list.append(h('li', { class: 'jp-notelock-empty' }, 'No nodes recorded yet.'));
  }
  listKeys(list, options.onSelect);
  return list;
}

/** Details of one node: what it is, inputs, params, schema, hashes. */
export function renderDetails(
  lock: ILock,
  id: string,
  options: {
    verdict?: INodeVerdict;
    onSelect?: (id: string) => void;
    /** "Go to cell": moves the focus into the notebook, on request only. */
    onReveal?: (id: string) => void;
    drifted?: Map<string, string>;
  } = {}
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
  if (options.onReveal && cell) {
    const reveal = h('button', { class: 'jp-Button jp-mod-styled jp-notelock-reveal', type: 'button' }, 'Go to cell');
    reveal.addEventListener('click', () => options.onReveal!(id));
    details.append(reveal);
  }

  const sources = node.op === 'read' ? [] : upstreamSources(lock, id);
  if (sources.length) {
    details.append(
      h('h4', {}, 'Data'),
      table(
        ['source', 'shape', 'content', 'changed since?'],
        sources.map(source => {
          const link = h('a', { href: '#', class: 'jp-notelock-source-link', 'data-id': source.id, title: source.where }, source.where);
          link.addEventListener('click', event => {
            event.preventDefault();
            options.onSelect?.(source.id);
          });
          const drift = options.drifted?.get(source.id);
          return [
            link,
            source.shape,
            h('code', { title: source.content }, shortHash(source.content, 12)),
            drift ? badge('drifted', 'changed', drift) : h('span', { class: 'jp-notelock-muted' }, 'no')
          ];
        }),
        'jp-notelock-sources'
      )
    );
  }

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

