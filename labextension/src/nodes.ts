/** The node list and a node's details. */
import { Child, badge, h, icon, renderVerdictTag, table, valueText } from './dom';
import {
  cellOf,
  formatCount,
  formatDuration,
  nodeBadges,
  nodeLabel,
  nodesInOrder,
  shortHash
} from './model';
import { ILock, INodeVerdict } from './tokens';

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

