/**
 * Pure views of a lock: order, labels, badges, summaries.
 *
 * No JupyterLab imports here, so the rendering rules are unit-tested in
 * isolation and the same rules serve the list, the details and the graph.
 */
import { ILock, ILockCell, ILockNode, INodeVerdict } from './tokens';

/** Node ids in execution order: per cell, its @cell_ node then its inner nodes. */
export function nodesInOrder(lock: ILock): string[] {
  const seen = new Set<string>();
  const order: string[] = [];
  const add = (id: string | undefined) => {
    if (id && lock.nodes[id] && !seen.has(id)) {
      seen.add(id);
      order.push(id);
    }
  };
  for (const cell of lock.cells ?? []) {
    add(cell.node);
    for (const id of cell.nodes ?? []) {
      add(id);
    }
  }
  // Nodes no cell names still show, last (same rule as the core).
  Object.keys(lock.nodes ?? {}).forEach(add);
  return order;
}

/** The 12 hex of a hash, for headers: `xxh3_128:4d6c…` → `4d6c147c9486`. */
export function shortHash(hash: string | null | undefined, length = 12): string {
  if (!hash) {
    return '';
  }
  const hex = hash.includes(':') ? hash.split(':', 2)[1] : hash;
  return hex.slice(0, length);
}

/** Thousands separators that do not depend on the browser's locale. */
export function formatCount(value: number): string {
  return String(Math.trunc(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || seconds === null || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** The last dotted part: `sklearn.ensemble.RandomForestClassifier` → `RandomForestClassifier`. */
export function lastName(path: string | undefined): string {
  if (!path) {
    return '';
  }
  const parts = path.split('.');
  return parts[parts.length - 1];
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

function ellipsis(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/** The first line of a cell worth showing (not the `%%lock` line, not blank). */
export function firstCodeLine(source: string): string {
  for (const line of source.split('\n')) {
    const text = line.trim();
    if (text && !text.startsWith('%%lock') && !text.startsWith('#')) {
      return text;
    }
  }
  return '';
}

function shape(node: ILockNode): string {
  if (typeof node.rows === 'number' && typeof node.columns === 'number') {
    return `${formatCount(node.rows)} × ${formatCount(node.columns)}`;
  }
  if (typeof node.rows === 'number') {
    return `${formatCount(node.rows)} rows`;
  }
  return '';
}

/**
 * A readable label: `read_csv transactions.csv — 100,000 × 7`,
 * `fit RandomForestClassifier`, `predict RandomForestClassifier — 750 rows`,
 * `cell [8] model = RandomForestClassifier(…)`.
 */
export function nodeLabel(lock: ILock, id: string): string {
  const node = lock.nodes[id];
  if (!node) {
    return id;
  }
  const size = shape(node);
  const withSize = (text: string) => (size ? `${text} — ${size}` : text);
  switch (node.op) {
    case 'read': {
      const reader = lastName(node.reader) || 'read';
      const source = node.path
        ? baseName(node.path)
        : node.query
          ? `“${ellipsis(node.query, 40)}”`
          : '';
      return withSize(source ? `${reader} ${source}` : reader);
    }
    case 'fit':
    case 'predict':
    case 'transform':
    case 'score': {
      const method = node.method || node.op;
      const text = `${method} ${lastName(node.estimator)}`.trim();
      return node.op === 'fit' ? text : withSize(text);
    }
    case 'cell': {
      const cell = cellOf(lock, id);
      const count =
        cell && typeof cell.execution_count === 'number'
          ? ` [${cell.execution_count}]`
          : '';
      const line = cell ? ellipsis(firstCodeLine(cell.source), 48) : '';
      return `cell${count}${line ? ' ' + line : ''}`;
    }
    default:
      return node.op;
  }
}

/**
 * The index in `cells` of the execution that recorded a node: its `cell`
 * field, else the first execution that lists it; -1 when none does.
 */
export function cellIndexOf(lock: ILock, id: string): number {
  const node = lock.nodes[id];
  const cells = lock.cells ?? [];
  if (node && typeof node.cell === 'number' && Number.isInteger(node.cell) && node.cell >= 0 && node.cell < cells.length) {
    return node.cell;
  }
  return cells.findIndex(cell => cell.node === id || (cell.nodes ?? []).includes(id));
}

/** The execution that recorded a node. */
export function cellOf(lock: ILock, id: string): ILockCell | undefined {
  const index = cellIndexOf(lock, id);
  return index >= 0 ? lock.cells[index] : undefined;
}

/** The @cell_ node of the execution that recorded a node (itself for a cell). */
function cellNodeOf(lock: ILock, id: string): ILockNode | undefined {
  const cell = cellOf(lock, id);
  return cell?.node ? lock.nodes[cell.node] : undefined;
}

export type BadgeKind =
  | 'cached'
  | 'snapshotted'
  | 'nondeterministic'
  | 'tolerance'
  | 'drifted'
  | 'opaque'
  | 'diverged';

export interface IBadge {
  kind: BadgeKind;
  text: string;
  title: string;
}

/**
 * Badges for a node. Nondeterminism is declared on the `%%lock` cell (its
 * `contract`) and applies to every node recorded in it; a replay verdict adds
 * `diverged`/`drifted`.
 */
export function nodeBadges(
  lock: ILock,
  id: string,
  verdict?: INodeVerdict
): IBadge[] {
  const node = lock.nodes[id];
  const badges: IBadge[] = [];
  if (!node) {
    return badges;
  }
  if (node.cached || node.cache) {
    badges.push({
      kind: 'cached',
      text: 'cached',
      title: 'The output is kept in the content store and reused'
    });
  }
  if (node.snapshot) {
    badges.push({
      kind: 'snapshotted',
      text: 'snapshot',
      title: `A copy of the input is in the store (${shortHash(node.snapshot)})`
    });
  }
  const contract = node.contract ?? cellNodeOf(lock, id)?.contract;
  if (contract?.verify === 'none') {
    badges.push({
      kind: 'nondeterministic',
      text: 'nondeterministic',
      title: 'Declared nondeterministic: replayed, not verified'
    });
  } else if (contract?.verify === 'tolerance') {
    badges.push({
      kind: 'tolerance',
      text: 'tolerance',
      title: `Verified within rtol=${contract.rtol ?? 0}, atol=${contract.atol ?? 0}`
    });
  }
  const drift = node.drift ?? node.drifted;
  const verdictText = verdict?.verdict ?? '';
  if (drift || /drift/i.test(verdictText + ' ' + (verdict?.detail ?? ''))) {
    badges.push({
      kind: 'drifted',
      text: 'drifted',
      title: 'The source no longer matches what was read'
    });
  }
  if (verdictText === 'DIVERGED') {
    badges.push({
      kind: 'diverged',
      text: 'diverged',
      title: verdict?.detail || 'Replay gave a different result'
    });
  }
  const opaque = node.opaque;
  if (opaque && (!Array.isArray(opaque) || opaque.length > 0)) {
    badges.push({
      kind: 'opaque',
      text: 'opaque',
      title: 'Some value was hashed by a fallback: recorded, not verifiable'
    });
  }
  return badges;
}

/** Edges `[from, to]` of the graph: an input feeds the node that consumed it. */
export function edges(lock: ILock): [string, string][] {
  const result: [string, string][] = [];
  for (const id of nodesInOrder(lock)) {
    for (const input of lock.nodes[id].inputs ?? []) {
      if (lock.nodes[input]) {
        result.push([input, id]);
      }
    }
  }
  return result;
}

export function pythonVersion(lock: ILock): string {
  const python = lock.environment?.python;
  if (typeof python === 'string') {
    return python;
  }
  return python?.version ?? '';
}

/** Packages worth showing first in the environment section. */
export const KEY_PACKAGES = [
  'numpy',
  'pandas',
  'scikit-learn',
  'scipy',
  'pyarrow',
  'xgboost',
  'lightgbm',
  'torch',
  'notelock'
];

/** What the sidebar knows of a cell in the open notebook. */
export interface INotebookCellInfo {
  source: string;
  executionCount: number | null;
}

/**
 * The index of the open notebook's cell that produced a recorded execution,
 * or -1. The source decides (the execution count alone changes with every
 * run); among equal sources the matching execution count wins.
 */
export function findNotebookCell(
  recorded: ILockCell | undefined,
  cells: INotebookCellInfo[]
): number {
  if (!recorded) {
    return -1;
  }
  const norm = (text: string) => text.replace(/\s+$/gm, '').trim();
  const wanted = norm(recorded.source);
  const same = cells
    .map((cell, index) => ({ cell, index }))
    .filter(({ cell }) => norm(cell.source) === wanted);
  if (same.length) {
    const counted = same.find(
      ({ cell }) =>
        cell.executionCount !== null &&
        cell.executionCount === recorded.execution_count
    );
    return (counted ?? same[0]).index;
  }
  if (typeof recorded.execution_count === 'number') {
    return cells.findIndex(
      cell => cell.executionCount === recorded.execution_count
    );
  }
  return -1;
}

/**
 * The kernel's current nodes in execution order, each with the nodes that a
 * re-execution superseded folded under it (docs/lockfile.md: `superseded`,
 * `cells[].superseded_by`). A superseded node folds under the current node of
 * the same op and label in the execution that replaced it, else under that
 * execution's @cell_ node; nodes with nowhere to go stay as rows.
 */
export function currentNodes(lock: ILock): { order: string[]; folded: Map<string, string[]> } {
  const all = nodesInOrder(lock);
  const folded = new Map<string, string[]>();
  const order: string[] = [];
  const cells = lock.cells ?? [];
  const latest = (index: number): number => {
    let i = index;
    for (let hops = 0; hops < cells.length && typeof cells[i]?.superseded_by === 'number'; hops++) {
      i = cells[i].superseded_by as number;
    }
    return i;
  };
  const nodesOfCell = (index: number): string[] => {
    const cell = cells[index];
    return cell ? [...(cell.node ? [cell.node] : []), ...(cell.nodes ?? [])] : [];
  };
  const target = (id: string): string | undefined => {
    const node = lock.nodes[id];
    const home = typeof node.cell === 'number' ? node.cell : cells.findIndex(c => c.node === id || (c.nodes ?? []).includes(id));
    if (home < 0 || typeof cells[home]?.superseded_by !== 'number') {
      return undefined;
    }
    const candidates = nodesOfCell(latest(home)).filter(c => lock.nodes[c] && !lock.nodes[c].superseded);
    const label = nodeLabel(lock, id).replace(/ — .*$/, '');
    return (
      candidates.find(c => lock.nodes[c].op === node.op && nodeLabel(lock, c).replace(/ — .*$/, '') === label) ??
      candidates.find(c => lock.nodes[c].op === node.op) ??
      candidates.find(c => lock.nodes[c].op === 'cell')
    );
  };
  for (const id of all) {
    const into = lock.nodes[id].superseded ? target(id) : undefined;
    if (into) {
      folded.set(into, [...(folded.get(into) ?? []), id]);
    } else {
      order.push(id);
    }
  }
  return { order, folded };
}

/** One upstream data source of a node, for lineage at a glance. */
export interface ISource {
  id: string;
  label: string;
  where: string;
  shape: string;
  content: string;
}

/** The read nodes a node's result came from, following inputs upstream. */
export function upstreamSources(lock: ILock, id: string): ISource[] {
  const seen = new Set<string>([id]);
  const queue = [...(lock.nodes[id]?.inputs ?? [])];
  const reads: string[] = [];
  while (queue.length) {
    const next = queue.shift() as string;
    if (seen.has(next) || !lock.nodes[next]) {
      continue;
    }
    seen.add(next);
    if (lock.nodes[next].op === 'read') {
      reads.push(next);
    }
    queue.push(...(lock.nodes[next].inputs ?? []));
  }
  return reads.map(rid => {
    const node = lock.nodes[rid];
    return {
      id: rid,
      label: nodeLabel(lock, rid),
      where: node.path ?? (node.query ? node.query : node.url ? String(node.url) : lastName(node.reader)),
      shape: shape(node),
      content: node.content ?? ''
    };
  });
}
