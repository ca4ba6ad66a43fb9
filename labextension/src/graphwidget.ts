/**
 * The lock's graph as a document in the main area, sized to it, with the
 * same zoom, pan and fit as the sidebar's. It shows what the sidebar shows
 * (the lock of the active notebook) and shares its selection: a node chosen
 * here is chosen in the sidebar's list, and the other way round. One graph
 * document at a time: opening it again brings it to the front.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { GraphView, IGraphState } from './graphview';
import { graphSvg } from './icons';
import { LockPanel } from './panel';

export const graphIcon = new LabIcon({ name: 'notelock:graph', svgstr: graphSvg });

export const GRAPH_DOCUMENT_ID = 'notelock-graph';

/** The document's content: the graph view, following the panel. */
export class GraphDocument extends Widget {
  constructor(panel: LockPanel) {
    super();
    this.addClass('jp-notelock-graph-document');
    this._panel = panel;
    this.view = new GraphView({
      mode: 'document',
      onSelect: (id, keyboard) => {
        void panel.selectNode(id, !keyboard).then(() => panel.showRow(id));
      }
    });
    this.node.append(this.view.node);
    this.title.icon = graphIcon;
    this.title.closable = true;
    panel.graphChanged.connect(this._onChanged, this);
    this._onChanged(panel, panel.graphState);
  }

  readonly view: GraphView;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._panel.graphChanged.disconnect(this._onChanged, this);
    this.view.dispose();
    super.dispose();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.view.resized();
  }

  private _onChanged(_: LockPanel, state: IGraphState): void {
    this.view.update(state);
    const reply = this._panel.current;
    const name = reply?.path.split('/').pop();
    this.title.label = name ? `Lock graph ${name}` : 'Lock graph';
    this.title.caption = reply ? `The lock graph of ${reply.path} (${reply.lock_path})` : 'The lock graph of the active notebook';
  }

  private _panel: LockPanel;
}

/**
 * Open the graph document, or bring the open one to the front; `tracker`
 * holds it (and restores it with the workspace).
 */
export async function openGraph(
  app: JupyterFrontEnd,
  panel: LockPanel,
  tracker: WidgetTracker<MainAreaWidget<GraphDocument>>
): Promise<MainAreaWidget<GraphDocument>> {
  const open = tracker.find(widget => !widget.isDisposed);
  if (open) {
    app.shell.activateById(open.id);
    return open;
  }
  const content = new GraphDocument(panel);
  const widget = new MainAreaWidget({ content });
  widget.id = GRAPH_DOCUMENT_ID;
  widget.addClass('jp-notelock-graph-main');
  app.shell.add(widget, 'main');
  await tracker.add(widget);
  app.shell.activateById(widget.id);
  return widget;
}
