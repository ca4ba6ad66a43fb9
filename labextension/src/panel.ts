/**
 * The "Lock" sidebar: the lock of the active notebook, live.
 *
 * It asks the server for the lock when the active notebook changes, shortly
 * after a cell of it finishes executing (the kernel writes the lock a moment
 * later) and when it is saved (which can make the lock stale) — never on a
 * timer. A replay is followed with long polls that the server holds open.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Toolbar } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { renderGraph } from './graph';
import { cellOf, findNotebookCell } from './model';
import {
  renderDetails,
  renderDiff,
  renderEnvironment,
  renderHeader,
  renderNodeList,
  renderReplay,
  h
} from './render';
import {
  cancelReplay,
  fetchDiff,
  fetchExport,
  fetchLock,
  fetchReplay,
  startReplay
} from './request';
import {
  IDiffReply,
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
    this.render();
  }

  readonly toolbar: Toolbar;

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
    this._diff = null;
    this._error = null;
    panel?.context.fileChanged.connect(this._onSaved, this);
    this.render();
    void this.refresh();
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
    this._timer = window.setTimeout(() => void this.refresh(), delay);
    this._timer2 = window.setTimeout(() => void this.refresh(), delay * 3);
  }

  async refresh(): Promise<void> {
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
      const reply = await fetchLock(panel.context.path);
      if (ticket !== this._ticket || panel !== this._notebook) {
        return; // a newer request or another notebook took over
      }
      this._reply = reply;
      this._error = null;
      if (this._selected && !reply.lock?.nodes[this._selected]) {
        this._selected = null;
      }
    } catch (error) {
      if (ticket !== this._ticket) {
        return;
      }
      this._reply = null;
      this._error = (error as Error).message;
    }
    this.render();
    this._changed.emit(this._reply);
  }

  /** Show a node's details and bring its cell into view. */
  async selectNode(id: string): Promise<void> {
    this._selected = id;
    this.render();
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
    }
  }

  clearSelection(): void {
    this._selected = null;
    this.render();
  }

  /** Download the lock file exactly as it is on disk. */
  async exportLock(): Promise<void> {
    const path = this._reply?.lock_path;
    if (!path || !this._reply?.lock) {
      return;
    }
    const { blob, name } = await fetchExport(path);
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.style.display = 'none';
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /** Replay the lock in the background and follow it to the end. */
  async replay(): Promise<void> {
    const path = this._reply?.lock_path;
    if (!path || !this._reply?.lock || this._job?.status === 'running') {
      return;
    }
    let job = await startReplay(path);
    this._job = job;
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

  async cancelReplay(): Promise<void> {
    if (this._job?.status === 'running') {
      this._job = await cancelReplay(this._job.id);
      this.render();
    }
  }

  /** Show the semantic diff of this notebook's lock against another lock file. */
  async diffWith(other: string): Promise<void> {
    const path = this._reply?.lock_path;
    if (!path) {
      return;
    }
    try {
      this._diff = await fetchDiff(path, other);
      this._error = null;
    } catch (error) {
      this._diff = null;
      this._error = (error as Error).message;
    }
    this.render();
  }

  get hasLock(): boolean {
    return !!this._reply?.lock;
  }

  protected onAfterShow(): void {
    if (this._stale) {
      void this.refresh();
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    window.clearTimeout(this._timer2);
    this._notebook?.context.fileChanged.disconnect(this._onSaved, this);
    super.dispose();
  }

  private _onSaved(): void {
    void this.refresh();
  }

  private _verdicts(): Map<string, INodeVerdict> {
    return new Map((this._job?.verdicts ?? []).map(v => [v.id, v]));
  }

  /** Rebuild the body from the current state (small: a lock has tens of nodes). */
  render(): void {
    const body = this._body.node;
    const scroll = body.scrollTop;
    body.textContent = '';
    if (!this._notebook) {
      body.append(h('p', { class: 'jp-notelock-empty' }, 'Open a notebook to see its lock.'));
      return;
    }
    if (this._error) {
      body.append(h('div', { class: 'jp-notelock-error', role: 'alert' }, this._error));
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
    const onSelect = (id: string) => void this.selectNode(id);
    // In the list, clicking the open node again closes its details.
    const toggle = (id: string) => (id === this._selected ? this.clearSelection() : onSelect(id));
    if (this._job) {
      const replay = renderReplay(lock, this._job, onSelect);
      if (this._job.status === 'running') {
        const stop = h('button', { class: 'jp-Button jp-mod-styled jp-mod-reject jp-notelock-cancel' }, 'Cancel');
        stop.addEventListener('click', () => void this.cancelReplay());
        replay.append(stop);
      }
      body.append(replay);
    }
    if (this._diff) {
      body.append(renderDiff(this._diff));
    }
    const details =
      this._selected && lock.nodes[this._selected]
        ? renderDetails(lock, this._selected, { verdict: verdicts.get(this._selected), onSelect })
        : null;
    body.append(
      h('h3', { class: 'jp-notelock-section' }, 'Nodes'),
      renderNodeList(lock, { selected: this._selected, verdicts, onSelect: toggle, expanded: details })
    );
    if (this._settings.showGraph) {
      const wrapper = h('div', { class: 'jp-notelock-graph-wrapper' });
      wrapper.append(renderGraph(lock, { selected: this._selected, verdicts, onSelect }));
      body.append(h('h3', { class: 'jp-notelock-section' }, 'Graph'), wrapper);
    }
    const environment = renderEnvironment(lock) as HTMLDetailsElement;
    environment.open = this._environmentOpen; // collapsed until the user opens it
    environment.addEventListener('toggle', () => {
      this._environmentOpen = environment.open;
    });
    body.append(environment);
    body.scrollTop = scroll;
  }

  private _body: Widget;
  private _notebook: NotebookPanel | null = null;
  private _reply: ILockReply | null = null;
  private _selected: string | null = null;
  private _job: IReplayJob | null = null;
  private _diff: IDiffReply | null = null;
  private _error: string | null = null;
  private _settings: ILockPanelSettings = { ...DEFAULT_SETTINGS };
  private _ticket = 0;
  private _stale = false;
  private _environmentOpen = false;
  private _timer = 0;
  private _timer2 = 0;
  private _changed = new Signal<INotelock, ILockReply | null>(this);
}
