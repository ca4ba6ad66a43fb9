/**
 * Diff in the main area: pick *before* (default: the previous kept version)
 * and *after* (default: the lock now), then read the semantic diff as a
 * document, as nbdime and jupyterlab-git open theirs.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog } from '@jupyterlab/filebrowser';
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import { renderDiff } from './diffview';
import { fetchDiff, fetchVersions } from './request';
import { ILockVersion } from './tokens';

const OTHER = '\u0000other';

function versionLabel(version: ILockVersion): string {
  const name = version.spec.split('/').pop() ?? version.spec;
  const when = version.when ? ` · ${version.when.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC')}` : '';
  return (version.number === 0 ? `${name} (now)` : name) + when + (version.change ? ` · ${version.change}` : '');
}

/** The dialog's body: two selects, before and after. */
class DiffChoice extends Widget {
  constructor(versions: ILockVersion[]) {
    super();
    this.addClass('jp-notelock-diff-choice');
    const select = (name: string, chosen: string) => {
      const el = h('select', { class: 'jp-mod-styled', 'aria-label': name }) as HTMLSelectElement;
      for (const version of versions) {
        el.append(h('option', { value: version.spec }, versionLabel(version)));
      }
      el.append(h('option', { value: OTHER }, 'Another lock file…'));
      el.value = chosen;
      return el;
    };
    const before = versions.length > 1 ? versions[1].spec : OTHER;
    this.before = select('Before', before);
    this.after = select('After', versions.length ? versions[0].spec : OTHER);
    this.node.append(
      h('label', {}, h('span', {}, 'Before'), this.before),
      h('label', {}, h('span', {}, 'After'), this.after)
    );
  }

  getValue(): { before: string; after: string } {
    return { before: this.before.value, after: this.after.value };
  }

  readonly before: HTMLSelectElement;
  readonly after: HTMLSelectElement;
}

async function pickLockFile(docManager: IDocumentManager | null, title: string): Promise<string | null> {
  if (!docManager) {
    return null;
  }
  const result = await FileDialog.getOpenFiles({
    manager: docManager,
    title,
    filter: model => (model.type === 'directory' || model.name.endsWith('.lock.json') ? {} : null)
  });
  return result.button.accept ? result.value?.[0]?.path ?? null : null;
}

/** Ask what to compare and open the diff in the main area; returns the widget (null if cancelled). */
export async function openDiff(
  app: JupyterFrontEnd,
  lockPath: string,
  docManager: IDocumentManager | null
): Promise<MainAreaWidget | null> {
  const { versions } = await fetchVersions(lockPath);
  const result = await showDialog({
    title: 'Compare locks: before → after',
    body: new DiffChoice(versions),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Compare' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  let { before, after } = result.value;
  if (before === OTHER) {
    before = (await pickLockFile(docManager, 'Before: the lock to compare from')) ?? '';
  }
  if (after === OTHER) {
    after = (await pickLockFile(docManager, 'After: the lock to compare to')) ?? '';
  }
  if (!before || !after) {
    return null;
  }
  const reply = await fetchDiff(before, after);
  const content = new Widget();
  content.addClass('jp-notelock-diff-document');
  content.node.append(renderDiff(reply));
  const widget = new MainAreaWidget({ content });
  widget.id = `notelock-diff-${Date.now()}`;
  const short = (spec: string) => spec.split('/').pop() ?? spec;
  widget.title.label = `Lock diff ${short(reply.a)} → ${short(reply.b)}`;
  widget.title.caption = `${reply.a} → ${reply.b}`;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
  return widget;
}
