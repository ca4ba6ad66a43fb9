/**
 * Calls to the server extension's REST API (docs/rest.md).
 *
 * Everything goes through ServerConnection so requests carry Jupyter's token
 * or cookie and the XSRF header, under the server's base URL.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IDiffReply, ILockReply, ILockState, IReplayJob, IVersionsReply } from './tokens';

/** An error answer of the API, with the server's one-line message. */
export class NotelockRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Whether notelock's API answered (a JSON message), not the server's own 404 page. */
    readonly fromApi = true
  ) {
    super(message);
  }
}

async function request(
  endpoint: string,
  query: Record<string, string | number> = {},
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<Response> {
  const url =
    URLExt.join(settings.baseUrl, 'notelock', endpoint) +
    URLExt.objectToQueryString(query);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    let message = response.statusText || `HTTP ${response.status}`;
    let fromApi = false;
    try {
      const body = await response.json();
      if (body && typeof body.message === 'string') {
        message = body.message;
        fromApi = true;
      }
    } catch {
      // not JSON: keep the status text
    }
    throw new NotelockRequestError(response.status, message, fromApi);
  }
  return response;
}

async function json<T>(response: Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

/**
 * The lock beside a notebook and its status. `inputs: 'hash'` reads input
 * files whose size or mtime changed to check them for drift.
 */
export function fetchLock(path: string, inputs: 'stat' | 'hash' = 'stat'): Promise<ILockReply> {
  return json(request('lock', { path, inputs }));
}

/** The notebook's status against its lock, also when the lock does not load. */
export function fetchStatus(path: string): Promise<ILockState> {
  return json(request('status', { path }));
}

/**
 * A download and the name to save it under: `export` (the lock file's exact
 * bytes), `pack` (a `.nlpack`) or `report` (the audit report, HTML).
 */
export async function fetchDownload(
  endpoint: 'export' | 'pack' | 'report',
  path: string
): Promise<{ blob: Blob; name: string }> {
  const response = await request(endpoint, { path });
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const match = /filename="([^"]+)"/.exec(disposition);
  const name = match ? match[1] : path.split('/').pop() ?? 'notebook.lock.json';
  return { blob: await response.blob(), name };
}

/** The lock file's exact bytes, and the name to save it under. */
export function fetchExport(path: string): Promise<{ blob: Blob; name: string }> {
  return fetchDownload('export', path);
}

/** The semantic diff of two lock files. */
export function fetchDiff(a: string, b: string): Promise<IDiffReply> {
  return json(request('diff', { a, b }));
}

/** The current lock and its kept versions, newest first (as `notelock log`). */
export function fetchVersions(path: string): Promise<IVersionsReply> {
  return json(request('versions', { path }));
}

/** Start replaying a lock file; returns the new job. */
export function startReplay(path: string, againstCurrent = false): Promise<IReplayJob> {
  const body = againstCurrent ? { path, against_current: true } : { path };
  return json(request('replay', {}, { method: 'POST', body: JSON.stringify(body) }));
}

/**
 * The state of a replay job. With `after`, waits on the server (up to `wait`
 * seconds) until the job has more than `after` events: a long poll, so the
 * sidebar follows a replay without polling in a tight loop.
 */
export function fetchReplay(
  id: string,
  after?: number,
  wait = 20
): Promise<IReplayJob> {
  const query: Record<string, number> =
    after === undefined ? {} : { after, wait };
  return json(request(`replay/${id}`, query));
}

/** Cancel a running replay. */
export function cancelReplay(id: string): Promise<IReplayJob> {
  return json(request(`replay/${id}`, {}, { method: 'DELETE' }));
}
