/**
 * notelock's JupyterLab extension: wiring only. The sidebar lives in
 * panel.ts, rendering in render.ts and graph.ts, REST calls in request.ts.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage, WidgetTracker } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  CommandToolbarButton,
  downloadIcon,
  LabIcon,
  refreshIcon,
  runIcon
} from '@jupyterlab/ui-components';
import { Menu } from '@lumino/widgets';

import { openDiff } from './diffwidget';
import { GraphDocument, graphIcon, openGraph } from './graphwidget';
import { diffSvg, lockSvg } from './icons';
import { DEFAULT_SETTINGS, LockPanel } from './panel';
import { CommandIDs, INotelock, PANEL_ID, PLUGIN_ID } from './tokens';

export const lockIcon = new LabIcon({ name: 'notelock:lock', svgstr: lockSvg });
export const diffIcon = new LabIcon({ name: 'notelock:diff', svgstr: diffSvg });

async function guard(title: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    await showErrorMessage(title, (error as Error).message);
  }
}

const plugin: JupyterFrontEndPlugin<INotelock> = {
  id: PLUGIN_ID,
  description: 'The Lock sidebar: the live lock of the active notebook, export, replay, diff.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, IDocumentManager, ILayoutRestorer, ILabShell],
  provides: INotelock,
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    docManager: IDocumentManager | null,
    restorer: ILayoutRestorer | null,
    labShell: ILabShell | null
  ): INotelock => {
    const { commands, shell } = app;
    const panel = new LockPanel();
    panel.id = PANEL_ID;
    panel.title.icon = lockIcon;
    panel.title.caption = 'Lock';
    panel.title.label = labShell ? '' : 'Lock';

    const toolbarLabel = (button: string, palette: string) => (args: Record<string, unknown>) =>
      args.toolbar ? button : palette;
    const hasLock = () => panel.hasLock;

    commands.addCommand(CommandIDs.show, {
      label: 'notelock: show lock',
      caption: 'Show the Lock sidebar of the active notebook',
      icon: lockIcon,
      execute: () => {
        shell.activateById(panel.id);
        return panel.refresh();
      }
    });
    commands.addCommand(CommandIDs.exportLock, {
      label: args => (args.menu ? 'Lock file (.lock.json)' : 'notelock: export'),
      caption: 'Download the lock file of the active notebook',
      icon: args => (args.menu ? undefined : downloadIcon),
      isEnabled: hasLock,
      execute: () => guard('Cannot export the lock', () => panel.exportLock())
    });
    commands.addCommand(CommandIDs.exportPack, {
      label: args => (args.menu ? 'Pack (.nlpack)' : 'notelock: export pack'),
      caption: 'Download the lock with the store objects it needs, to replay elsewhere',
      isEnabled: hasLock,
      execute: () => guard('Cannot export the pack', () => panel.exportPack())
    });
    commands.addCommand(CommandIDs.exportReport, {
      label: args => (args.menu ? 'Audit report (.html)' : 'notelock: export audit report'),
      caption: 'Download a readable report of what ran',
      isEnabled: hasLock,
      execute: () => guard('Cannot export the audit report', () => panel.exportReport())
    });
    const exportMenu = new Menu({ commands });
    exportMenu.addClass('jp-notelock-export-menu');
    for (const command of [CommandIDs.exportLock, CommandIDs.exportPack, CommandIDs.exportReport]) {
      exportMenu.addItem({ command, args: { menu: true } });
    }
    commands.addCommand(CommandIDs.exportMenu, {
      label: toolbarLabel('Export', 'notelock: export…'),
      caption: 'Download the lock file, a pack or the audit report',
      icon: downloadIcon,
      isEnabled: hasLock,
      execute: () => {
        const button = panel.toolbar.node.querySelector('[data-command="' + CommandIDs.exportMenu + '"]');
        const box = (button ?? panel.toolbar.node).getBoundingClientRect();
        exportMenu.open(box.left, box.bottom);
      }
    });
    commands.addCommand(CommandIDs.replay, {
      label: toolbarLabel('Replay', 'notelock: replay'),
      caption: 'Re-run the recorded computation in a new kernel and check every result',
      icon: runIcon,
      isEnabled: () => hasLock() && panel.replayJob?.status !== 'running',
      execute: async () => {
        shell.activateById(panel.id);
        await guard('Cannot replay the lock', () => panel.replay());
      }
    });
    commands.addCommand(CommandIDs.diff, {
      label: toolbarLabel('Diff…', 'notelock: diff…'),
      caption: 'Compare two versions of this lock (default: the previous run → now), or any lock file',
      icon: diffIcon,
      isEnabled: hasLock,
      execute: async () => {
        const lockPath = panel.current?.lock_path;
        if (lockPath) {
          await guard('Cannot compare the locks', async () => {
            await openDiff(app, lockPath, docManager);
          });
        }
      }
    });
    const graphs = new WidgetTracker<MainAreaWidget<GraphDocument>>({ namespace: 'notelock-graph' });
    commands.addCommand(CommandIDs.openGraph, {
      label: args => (args.toolbar ? 'Open graph' : 'notelock: open graph'),
      caption: 'Open the lock graph in the main area, with the same selection as the sidebar',
      icon: graphIcon,
      execute: () => openGraph(app, panel, graphs)
    });
    panel.openGraph = () => void commands.execute(CommandIDs.openGraph);
    commands.addCommand(CommandIDs.refresh, {
      label: toolbarLabel('', 'notelock: refresh'),
      caption: 'Reload the lock from the server',
      icon: refreshIcon,
      execute: () => panel.refresh()
    });

    for (const id of [CommandIDs.exportMenu, CommandIDs.replay, CommandIDs.diff, CommandIDs.refresh]) {
      panel.toolbar.addItem(
        id.split(':')[1],
        new CommandToolbarButton({ commands, id, args: { toolbar: true } })
      );
    }
    panel.changed.connect(() => {
      for (const id of [CommandIDs.exportMenu, CommandIDs.exportLock, CommandIDs.exportPack, CommandIDs.exportReport,
        CommandIDs.replay, CommandIDs.diff]) {
        commands.notifyCommandChanged(id);
      }
    });

    if (palette) {
      for (const command of [CommandIDs.show, CommandIDs.replay, CommandIDs.exportLock, CommandIDs.exportPack,
        CommandIDs.exportReport, CommandIDs.diff, CommandIDs.openGraph]) {
        palette.addItem({ command, category: 'notelock' });
      }
    }

    shell.add(panel, 'right', { rank: 650, type: 'Lock' });
    restorer?.add(panel, PANEL_ID);
    void restorer?.restore(graphs, { command: CommandIDs.openGraph, name: () => 'graph' });

    tracker.currentChanged.connect((_, current) => panel.setNotebook(current));
    panel.setNotebook(tracker.currentWidget);
    NotebookActions.executed.connect((_, { notebook }) => panel.cellExecuted(notebook));

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            panel.settings = {
              refreshDelay: (settings.get('refreshDelay').composite as number) ?? DEFAULT_SETTINGS.refreshDelay,
              showGraph: (settings.get('showGraph').composite as boolean) ?? DEFAULT_SETTINGS.showGraph
            };
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('notelock: cannot load settings', reason));
    }
    return panel;
  }
};

export default plugin;
