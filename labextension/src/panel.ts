/**
 * The "Lock" sidebar: the lock of the active notebook, live.
 *
 * It asks the server for the lock when the active notebook changes, shortly
 * after a cell of it finishes executing (the kernel writes the lock a moment
 * later) and when it is saved (which can make the lock stale) — never on a
 * timer. A replay is followed with long polls that the server holds open.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Toolbar } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { GraphView, IGraphState } from './graphview';
import { cellOf, findNotebookCell } from './model';
import {
  renderDetails,
  renderEnvironment,
  renderHeader,
  renderNodeList,
  renderReplay,
  h
} from './render';
import {
  cancelReplay,
  fetchDownload,
  fetchLock,
  fetchReplay,
  fetchStatus,
  NotelockRequestError,
  startReplay
} from './request';
import {
  ILockReply,
  INodeVerdict,
  INotelock,
  IReplayJob
} from './tokens';

export interface ILockPanelSettings {
  /** Milliseconds to wait after a cell executes before asking for the lock. */
  refreshDelay: number;
  /** Whether the graph section is shown. */
  showGraph: boolean;
}

export const DEFAULT_SETTINGS: ILockPanelSettings = {
  refreshDelay: 1500,
  showGraph: true
};

export class LockPanel extends Panel implements INotelock {
  constructor() {
    super();
    this.addClass('jp-notelock-panel');
    this.toolbar = new Toolbar();
    this.toolbar.addClass('jp-notelock-toolbar');
    this._body = new Widget();
    this._body.addClass('jp-notelock-body');
    this.addWidget(this.toolbar);
    this.addWidget(this._body);
    this._graph = new GraphView({
      mode: 'sidebar',
      // a click also shows the node's cell; Enter and Space keep the focus here
      onSelect: (id, keyboard) => void this.selectNode(id, !keyboard),
      onOpen: () => this.openGraph?.()
    });
    this.render();
  }

  readonly toolbar: Toolbar;

  /** What "Open graph" does (set by the plugin: opens the graph document). */
  openGraph: (() => void) | null = null;

  /** The sidebar's graph view (its zoom, pan and toolbar). */
  get graphView(): GraphView {
    return this._graph;
  }

  /** The id of the node whose details show, if any. */
  get selected(): string | null {
    return this._selected;
  }

  /** What a graph shows now: the lock, the selected node, the replay's verdicts. */
  get graphState(): IGraphState {
    return { lock: this._reply?.lock ?? null, selected: this._selected, verdicts: this._verdicts(), key: this._reply?.path ?? null };
  }

  /**
   * Emitted after every rendering of the panel (a refresh, a selection, a
   * replay's progress): every graph drawn of this lock follows it, so the
   * sidebar and the graph document share one selection.
   */
  get graphChanged(): ISignal<LockPanel, IGraphState> {
    return this._graphChanged;
  }

  get current(): ILockReply | null {
    return this._reply;
  }

  get changed(): Signal<INotelock, ILockReply | null> {
    return this._changed;
  }

  get notebook(): NotebookPanel | null {
    return this._notebook;
  }

  get replayJob(): IReplayJob | null {
    return this._job;
  }

  get settings(): ILockPanelSettings {
    return this._settings;
  }

  set settings(value: ILockPanelSettings) {
    this._settings = value;
    this.render();
  }

  /** Follow another notebook (or none). */
  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this._notebook) {
      return;
    }
    this._notebook?.context.fileChanged.disconnect(this._onSaved, this);
    this._notebook = panel;
    this._reply = null;
    this._selected = null;
    this._job = null;
    this._error = null;
    this._recovery = null;
    panel?.context.fileChanged.connect(this._onSaved, this);
    this.render();
    void this.refresh('hash');
  }

  /** A cell of the followed notebook finished executing. */
  cellExecuted(panelContent: unknown): void {
    if (!this._notebook || panelContent !== this._notebook.content) {
      return;
    }
    // The kernel writes the lock shortly after the cell ends; look twice,
    // cheaply, rather than polling.
    window.clearTimeout(this._timer);
    window.clearTimeout(this._timer2);
    const delay = this._settings.refreshDelay;
    this._timer = window.setTimeout(() => void this.refresh('stat'), delay);
    this._timer2 = window.setTimeout(() => void this.refresh('stat'), delay * 3);
  }

  /**
   * Ask the server for the lock. Calls made while one is being prepared share
   * it: every trigger at the same moment (the notebook opening, its model
   * loading, the panel showing) sends one request. `'hash'` also checks the
   * inputs for drift by content (files whose size or mtime changed).
   */
  refresh(inputs: 'stat' | 'hash' = 'hash'): Promise<void> {
    this._pendingInputs = this._pendingInputs === 'hash' ? 'hash' : inputs;
    if (!this._pending) {
      this._pending = new Promise<void>(resolve => {
        window.setTimeout(() => {
          const mode = this._pendingInputs;
          this._pending = null;
          this._pendingInputs = 'stat';
          void this._refresh(mode).then(resolve, resolve);
        }, 30);
      });
    }
    return this._pending;
  }

  private async _refresh(inputs: 'stat' | 'hash'): Promise<void> {
    const panel = this._notebook;
    if (!panel) {
      this._reply = null;
      this.render();
      this._changed.emit(null);
      return;
    }
    if (!this.isVisible) {
      this._stale = true; // refreshed when shown
      return;
    }
    this._stale = false;
    const ticket = ++this._ticket;
    try {
      await panel.context.ready;
      const reply = await fetchLock(panel.context.path, inputs);
      if (ticket !== this._ticket || panel !== this._notebook) {
        return; // a newer request or another notebook took over
      }
      this._reply = reply;
      this._error = null;
      this._recovery = null;
      if (this._selected && !reply.lock?.nodes[this._selected]) {
        this._selected = null;
      }
    } catch (error) {
      if (ticket !== this._ticket) {
        return;
      }
      this._reply = null;
      this._error = (error as Error).message;
      this._recovery = null;
      if (error instanceof NotelockRequestError && error.status === 422) {
        // the lock does not load: ask what recovers it
        try {
          this._recovery = (await fetchStatus(panel.context.path)).recovery;
        } catch {
          this._recovery = null;
        }
      }
    }
    this.render();
    this._changed.emit(this._reply);
  }

  /**
   * Show a node's details. With `reveal`, also bring its cell into view in
   * the notebook (a click does; the keyboard keeps the focus in the panel).
   */
  async selectNode(id: string, reveal = true): Promise<void> {
    this._selected = id;
    this.render();
    if (reveal) {
      await this.revealCell(id, false);
    }
  }

  /** Make the notebook cell of a node the active one; `focus` moves the focus there. */
  async revealCell(id: string, focus = true): Promise<void> {
    const lock = this._reply?.lock;
    const panel = this._notebook;
    if (!lock || !panel) {
      return;
    }
    const notebook = panel.content;
    const cells = notebook.widgets.map(cell => ({
      source: cell.model.sharedModel.getSource(),
      executionCount:
        cell.model.type === 'code'
          ? ((cell.model as unknown as { executionCount: number | null })
              .executionCount ?? null)
          : null
    }));
    const index = findNotebookCell(cellOf(lock, id), cells);
    if (index >= 0) {
      notebook.activeCellIndex = index;
      await notebook.scrollToCell(notebook.widgets[index]);
      if (focus) {
        notebook.widgets[index].node.focus();
      }
    }
  }

  clearSelection(): void {
    this._selected = null;
    this.render();
  }

  /** Scroll the list until the node's row shows (a node chosen elsewhere, as in the graph document). */
  showRow(id: string): void {
    const row = this._body.node.querySelector(`.jp-notelock-nodes .jp-notelock-node[data-id="${CSS.escape(id)}"]`);
    row?.scrollIntoView?.({ block: 'nearest' });
  }

  /** Download the lock file exactly as it is on disk. */
  async exportLock(): Promise<void> {
    const path = this._reply?.lock_path;
    if (path && this._reply?.lock) {
      await this._download('export', path, 'lock');
    }
  }

  /** Download a `.nlpack` of the notebook's lock (when this server has the route). */
  async exportPack(): Promise<void> {
    if (this._reply?.lock) {
      await this._download('pack', this._reply.path, 'pack');
    }
  }

  /** Download the audit report (HTML) of the notebook's lock (when this server has the route). */
  async exportReport(): Promise<void> {
    if (this._reply?.lock) {
      await this._download('report', this._reply.path, 'audit report');
    }
  }

  private async _download(endpoint: 'export' | 'pack' | 'report', path: string, what: string): Promise<void> {
    let file: { blob: Blob; name: string };
    try {
      file = await fetchDownload(endpoint, path);
    } catch (error) {
      if (error instanceof NotelockRequestError && error.status === 404 && !error.fromApi) {
        Notification.warning(`Export ${what}: not available in this server version`, { autoClose: 6000 });
        return;
      }
      throw error;
    }
    const url = URL.createObjectURL(file.blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = file.name;
    link.style.display = 'none';
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    Notification.success(`Exported ${file.name}`, { autoClose: 5000 });
  }

  /**
   * Replay the lock in the background and follow it to the end; with
   * `againstCurrent`, on today's data instead of the snapshots.
   */
  async replay(againstCurrent = false): Promise<void> {
    const path = this._reply?.lock_path;
    if (!path || !this._reply?.lock || this._job?.status === 'running') {
      return;
    }
    let job = await startReplay(path, againstCurrent);
    this._job = job;
    this._jobIdentity = this._reply.lock.identity;
    this.render();
    while (job.status === 'running' && !this.isDisposed && this._job?.id === job.id) {
      try {
        job = await fetchReplay(job.id, job.events, 20);
      } catch (error) {
        this._error = `Lost the replay: ${(error as Error).message}`;
        break;
      }
      if (this._job?.id !== job.id) {
        return;
      }
      this._job = job;
      this.render();
    }
  }

  /** Close the replay panel (a running replay is cancelled). */
  async closeReplay(): Promise<void> {
    const job = this._job;
    this._job = null;
    this.render();
    this._changed.emit(this._reply);
    if (job?.status === 'running') {
      await cancelReplay(job.id);
    }
  }

  async cancelReplay(): Promise<void> {
    if (this._job?.status === 'running') {
      this._job = await cancelReplay(this._job.id);
      this.render();
    }
  }

  get hasLock(): boolean {
    return !!this._reply?.lock;
  }

  protected onAfterShow(): void {
    if (this._stale) {
      void this.refresh('hash');
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    window.clearTimeout(this._timer2);
    this._notebook?.context.fileChanged.disconnect(this._onSaved, this);
    this._graph.dispose();
    super.dispose();
  }

  private _onSaved(): void {
    void this.refresh('hash');
  }

  /** Whether the lock changed since the replay shown started. */
  private get _jobStale(): boolean {
    return !!this._job && !!this._reply?.lock && this._jobIdentity !== this._reply.lock.identity;
  }

  /** Verdicts shown on nodes: none once the lock changed since the replay. */
  private _verdicts(): Map<string, INodeVerdict> {
    if (this._jobStale) {
      return new Map();
    }
    return new Map((this._job?.verdicts ?? []).map(v => [v.id, v]));
  }

  private _drifted(): Map<string, string> {
    const reasons: Record<string, string> = {
      missing: 'The file is gone',
      size: 'The file has another size than when it was read',
      content: 'The file holds other bytes than when it was read'
    };
    return new Map((this._reply?.state?.drifted ?? []).map(d => [d.node, reasons[d.reason] ?? d.reason]));
  }

  /** Rebuild the body from the current state (small: a lock has tens of nodes); tell the graphs. */
  render(): void {
    this._render();
    this._graphChanged.emit(this.graphState);
  }

  private _render(): void {
    const body = this._body.node;
    const scroll = body.scrollTop;
    // Keep the keyboard focus where it was across the rebuild.
    const active = document.activeElement as HTMLElement | null;
    const focused = active && body.contains(active) ? active : null;
    const focusKey = focused
      ? { id: focused.dataset.id, cls: [...focused.classList].find(c => c.startsWith('jp-notelock-')) }
      : null;
    body.textContent = '';
    if (!this._notebook) {
      body.append(h('p', { class: 'jp-notelock-empty' }, 'Open a notebook to see its lock.'));
      return;
    }
    if (this._error) {
      const error = h('div', { class: 'jp-notelock-error', role: 'alert' }, this._error);
      if (this._recovery) {
        error.append(h('div', { class: 'jp-notelock-recovery' }, 'To recover: ', this._recovery));
      }
      body.append(error);
    }
    const reply = this._reply;
    if (!reply) {
      if (!this._error) {
        body.append(h('p', { class: 'jp-notelock-empty' }, 'Loading the lock…'));
      }
      return;
    }
    body.append(renderHeader(reply));
    const lock = reply.lock;
    if (!lock) {
      return;
    }
    const verdicts = this._verdicts();
    const drifted = this._drifted();
    // A click also shows the node's cell; the keyboard keeps the focus here.
    const onSelect = (id: string) => void this.selectNode(id, !this._keyboard);
    // In the list, clicking the open node again closes its details.
    const toggle = (id: string) => (id === this._selected ? this.clearSelection() : onSelect(id));
    if (this._job) {
      const replay = renderReplay(lock, this._job, {
        onSelect,
        onClose: () => void this.closeReplay(),
        onReplayCurrent: () => void this.replay(true),
        stale: this._jobStale
      });
      if (this._job.status === 'running') {
        const stop = h('button', { class: 'jp-Button jp-mod-styled jp-mod-reject jp-notelock-cancel' }, 'Cancel');
        stop.addEventListener('click', () => void this.cancelReplay());
        replay.append(stop);
      }
      body.append(replay);
    }
    const details =
      this._selected && lock.nodes[this._selected]
        ? renderDetails(lock, this._selected, {
            verdict: verdicts.get(this._selected),
            onSelect,
            onReveal: id => void this.revealCell(id, true),
            drifted
          })
        : null;
    const list = renderNodeList(lock, { selected: this._selected, verdicts, onSelect: toggle, expanded: details, drifted });
    // Keyboard or pointer: decides whether selecting also moves the notebook.
    list.addEventListener('keydown', () => (this._keyboard = true), true);
    list.addEventListener('pointerdown', () => (this._keyboard = false), true);
    body.append(h('h3', { class: 'jp-notelock-section' }, 'Nodes'), list);
    if (this._settings.showGraph) {
      // attached first: the view measures its viewport (and a re-attached scroller forgot its offsets)
      body.append(h('h3', { class: 'jp-notelock-section' }, 'Graph'), this._graph.node);
      this._graph.update({ lock, selected: this._selected, verdicts, key: reply.path });
    }
    const environment = renderEnvironment(lock) as HTMLDetailsElement;
    environment.open = this._environmentOpen; // collapsed until the user opens it
    environment.addEventListener('toggle', () => {
      this._environmentOpen = environment.open;
    });
    body.append(environment);
    body.scrollTop = scroll;
    if (focusKey?.cls) {
      const selector = focusKey.id ? `.${focusKey.cls}[data-id="${CSS.escape(focusKey.id)}"]` : `.${focusKey.cls}`;
      const again = body.querySelector<HTMLElement>(selector);
      if (again) {
        again.tabIndex = 0;
        again.focus({ preventScroll: true });
      }
    }
  }

  private _body: Widget;
  private _graph: GraphView;
  private _graphChanged = new Signal<LockPanel, IGraphState>(this);
  private _notebook: NotebookPanel | null = null;
  private _reply: ILockReply | null = null;
  private _selected: string | null = null;
  private _job: IReplayJob | null = null;
  private _error: string | null = null;
  private _recovery: string | null = null;
  private _jobIdentity: string | null = null;
  private _keyboard = false;
  private _pending: Promise<void> | null = null;
  private _pendingInputs: 'stat' | 'hash' = 'stat';
  private _settings: ILockPanelSettings = { ...DEFAULT_SETTINGS };
  private _ticket = 0;
  private _stale = false;
  private _environmentOpen = false;
  private _timer = 0;
  private _timer2 = 0;
  private _changed = new Signal<INotelock, ILockReply | null>(this);
}
