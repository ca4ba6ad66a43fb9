/**
 * The DOM helpers every view uses. All text is set with `textContent`, so
 * nothing from a lock file is ever interpreted as HTML.
 */
import { opIconSvg } from './icons';
import { INodeVerdict } from './tokens';

export type Child = Node | string | null | undefined | false;

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

export function icon(op: string): HTMLElement {
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

export function valueText(value: unknown): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

export function table(head: string[], rows: (string | Node)[][], cls: string): HTMLElement {
  return h(
    'table',
    { class: `jp-notelock-table ${cls}` },
    h('thead', {}, h('tr', {}, ...head.map(text => h('th', {}, text)))),
    h('tbody', {}, ...rows.map(row => h('tr', {}, ...row.map(cell => h('td', {}, cell)))))
  );
}

export function renderVerdictTag(verdict: INodeVerdict): HTMLElement {
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

