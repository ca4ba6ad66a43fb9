/**
 * Public types and the Lumino token of notelock's JupyterLab extension.
 *
 * The lock types mirror docs/lockfile.md (format version 2); the reply types
 * mirror docs/rest.md. Fields the UI does not need are left as `unknown` so a
 * newer lock still renders.
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** Plugin and command ids: one name everywhere. */
export const PLUGIN_ID = 'notelock:plugin';
export const PANEL_ID = 'notelock-lock-panel';
export namespace CommandIDs {
  export const show = 'notelock:show-lock';
  export const replay = 'notelock:replay';
  export const exportLock = 'notelock:export';
  export const exportMenu = 'notelock:export-menu';
  export const exportPack = 'notelock:export-pack';
  export const exportReport = 'notelock:export-report';
  export const diff = 'notelock:diff';
  export const refresh = 'notelock:refresh';
  export const openGraph = 'notelock:open-graph';
}

export type NodeOp = 'read' | 'fit' | 'predict' | 'transform' | 'score' | 'cell';

export interface ILockNode {
  op: NodeOp | string;
  identity: string;
  inputs?: string[];
  output?: string | null;
  cell?: number;
  superseded?: boolean;
  opaque?: unknown;
  // read
  reader?: string;
  path?: string;
  query?: string;
  connection?: string;
  options?: Record<string, unknown>;
  content?: string;
  bytes?: number;
  schema?: string;
  rows?: number;
  columns?: number;
  snapshot?: string;
  // fit / predict / transform / score
  method?: string;
  estimator?: string;
  params?: Record<string, unknown>;
  args?: Record<string, string>;
  model?: string;
  result?: string;
  // cell
  code?: string;
  reads?: Record<string, string>;
  writes?: Record<string, string>;
  uses?: Record<string, string>;
  contract?: { verify?: string; rtol?: number; atol?: number };
  [key: string]: unknown;
}

export interface ILockCell {
  execution_count?: number | null;
  source: string;
  locked?: boolean;
  node?: string;
  nodes?: string[];
  error?: string;
  cell_id?: string;
  superseded_by?: number;
}

export interface ISchema {
  columns: { name: string; dtype: string; nulls?: number }[];
}

export interface ILock {
  notelock: number;
  identity: string;
  workflow?: {
    notebook?: string;
    checksum?: string;
    git?: {
      commit?: string;
      branch?: string;
      dirty?: boolean;
      repository?: boolean;
    };
    [key: string]: unknown;
  };
  environment?: {
    python?: { version?: string; implementation?: string } | string;
    platform?: unknown;
    packages?: Record<string, string>;
    threads?: Record<string, unknown> | null;
    gpu?: unknown;
    [key: string]: unknown;
  };
  cells: ILockCell[];
  nodes: Record<string, ILockNode>;
  schemas?: Record<string, ISchema>;
  run?: { started?: string; updated?: string; durations_s?: Record<string, number> };
  [key: string]: unknown;
}

export type LockStatus = 'up to date' | 'stale' | 'missing';

/** Why a notebook stands where it does against its lock (docs/rest.md, `state`). */
export type LockState =
  | 'missing'
  | 'unreadable'
  | 'code changed'
  | 'ran unsaved code'
  | 'inputs drifted'
  | 'metadata changed'
  | 'up to date';

export interface IStateCell {
  change: 'edited' | 'removed' | 'not run' | 'unsaved' | string;
  line: string;
  index?: number;
  cell_id?: string;
  execution_count?: number;
}

export interface IDriftedInput {
  node: string;
  path: string;
  recorded: string;
  current: string | null;
  reason: 'missing' | 'size' | 'content' | string;
}

/** `GET /notelock/status`, and `state` of `GET /notelock/lock` */
export interface ILockState {
  state: LockState;
  message: string;
  cells: IStateCell[];
  fields: string[];
  drifted: IDriftedInput[];
  checksum: string | null;
  recovery: string | null;
  inputs: 'stat' | 'hash';
}

/** `GET /notelock/lock` */
export interface ILockReply {
  path: string;
  lock_path: string;
  checksum: string | null;
  status: LockStatus;
  state?: ILockState;
  lock: ILock | null;
}

export type Verdict =
  | 'reproduced'
  | 'reproduced within tolerance'
  | 'not verified'
  | 'DIVERGED'
  | string;

export interface INodeVerdict {
  id: string;
  op: string;
  verdict: Verdict;
  detail?: string | null;
}

/** `GET /notelock/replay/<job>` */
export interface IReplayJob {
  id: string;
  path: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: { done: number; total: number | null };
  verdicts: INodeVerdict[];
  messages: string[];
  exit_code: number | null;
  result: 'reproduced' | 'diverged' | 'unusable' | null;
  summary: Record<string, unknown> | null;
  error: string | null;
  stderr: string;
  events: number;
  /** Started with `against_current` (on today's data, not the snapshots). */
  against_current?: boolean;
}

/** `GET /notelock/versions` */
export interface ILockVersion {
  spec: string;
  number: number;
  when: string | null;
  identity: string | null;
  commit: string | null;
  change: string;
}

export interface IVersionsReply {
  lock_path: string;
  versions: ILockVersion[];
}

/** `GET /notelock/diff` */
export interface IDiffReply {
  a: string;
  b: string;
  diff: unknown;
}

/** What other extensions may use: the panel's current state and a refresh. */
export interface INotelock {
  /** The lock reply shown now, or null when no notebook is active. */
  readonly current: ILockReply | null;
  /** Emitted after every refresh of the panel. */
  readonly changed: ISignal<INotelock, ILockReply | null>;
  /** Reload the lock of the active notebook from the server. */
  refresh(): Promise<void>;
}

export const INotelock = new Token<INotelock>(
  'notelock:INotelock',
  'The Lock sidebar of the active notebook.'
);
