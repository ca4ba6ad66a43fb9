/** A semantic diff of two locks (docs/diff.md), root causes first. */
import { Child, badge, h, valueText } from './dom';
import { lastName } from './model';
import { IDiffReply } from './tokens';

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

/** A unified diff with a class per line (added, removed, hunk header) for colouring. */
export function renderCodeDiff(text: string): HTMLElement {
  const pre = h('pre', { class: 'jp-notelock-source jp-notelock-diff-code' });
  for (const line of text.split('\n')) {
    const kind = line.startsWith('+++') || line.startsWith('---') ? 'file'
      : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : 'same';
    pre.append(h('span', { class: `jp-notelock-diff-line jp-mod-${kind}` }, line), '\n');
  }
  return pre;
}

/**
 * A semantic diff (docs/diff.md) of a → b, read before → after: what the
 * user changed on top (notebook parameters, estimator parameters, data),
 * then the nodes, root causes first, then the code as a coloured unified
 * diff; workflow and environment folded.
 */
export function renderDiff(reply: IDiffReply): HTMLElement {
  const el = h(
    'div',
    { class: 'jp-notelock-diff' },
    h('div', { class: 'jp-notelock-diff-title' }, h('code', {}, reply.a), ' → ', h('code', {}, reply.b))
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
  const notebookParams = diff.notebook_parameters as Record<string, { a: unknown; b: unknown }> | undefined;
  if (notebookParams && Object.keys(notebookParams).length) {
    el.append(
      diffSection(
        'Notebook parameters',
        h('ul', { class: 'jp-notelock-diff-params' }, ...Object.entries(notebookParams).map(([name, ab]) =>
          h('li', {}, h('code', {}, name), ': ', h('code', {}, valueText(ab.a)), ' → ', h('code', {}, valueText(ab.b)))))
      )
    );
  }
  const params = list('parameters') as { estimator?: string; lines?: string[] }[];
  if (params.length) {
    el.append(
      diffSection(
        'Parameters',
        h('ul', { class: 'jp-notelock-diff-params' }, ...params.map(p => h('li', {}, h('code', {}, lastName(p.estimator)), ' ', (p.lines ?? []).join(', '))))
      )
    );
  }
  const data = list('data') as { message?: string; source?: string; status?: string }[];
  if (data.length) {
    el.append(
      diffSection('Data', h('ul', {}, ...data.map(d => h('li', {}, d.message ?? `${d.source ?? ''}: ${d.status ?? 'changed'}`))))
    );
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
  const code = list('code') as { diff?: string; status?: string }[];
  if (code.length) {
    el.append(diffSection('Code', ...code.map(c => (c.diff ? renderCodeDiff(c.diff) : h('pre', { class: 'jp-notelock-source' }, c.status ?? '')))));
  }
  for (const key of ['workflow', 'environment']) {
    const value = diff[key];
    if (value && typeof value === 'object' && Object.keys(value).length) {
      el.append(h('details', { class: 'jp-notelock-diff-section' }, h('summary', {}, key[0].toUpperCase() + key.slice(1)), renderValue(value, 2)));
    }
  }
  return el;
}
