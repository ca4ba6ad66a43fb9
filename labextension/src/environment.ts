/** The environment section: Python, key packages, threads, GPU. */
import { Child, h, table, valueText } from './dom';
import { KEY_PACKAGES, pythonVersion } from './model';
import { ILock } from './tokens';

/** Python, key packages, threads, GPU: collapsed by default. */
export function renderEnvironment(lock: ILock): HTMLElement {
  const env = lock.environment ?? {};
  const section = h('details', { class: 'jp-notelock-environment' });
  const python = pythonVersion(lock);
  section.append(h('summary', {}, 'Environment', python ? h('span', { class: 'jp-notelock-muted' }, ` · Python ${python}`) : null));
  const facts = h('dl', { class: 'jp-notelock-facts' });
  const fact = (name: string, value: Child) => facts.append(h('dt', {}, name), h('dd', {}, value));
  fact('Python', python || 'unknown');
  const platform = env.platform as Record<string, unknown> | string | undefined;
  if (platform) {
    fact(
      'platform',
      typeof platform === 'string'
        ? platform
        : [platform.system, platform.machine, platform.distribution].filter(Boolean).join(' · ')
    );
  }
  const threads = env.threads;
  if (Array.isArray(threads)) {
    fact(
      'threads',
      threads
        .map(t => {
          const pool = t as Record<string, unknown>;
          return `${pool.internal_api ?? pool.user_api}: ${pool.num_threads}`;
        })
        .join(', ') || 'none'
    );
  } else if (threads && typeof threads === 'object') {
    fact('threads', Object.entries(threads).map(([k, v]) => `${k}: ${valueText(v)}`).join(', '));
  }
  fact('GPU', env.gpu ? valueText(env.gpu) : 'none');
  section.append(facts);
  const packages = env.packages ?? {};
  const names = Object.keys(packages);
  const key = KEY_PACKAGES.filter(name => name in packages);
  if (key.length) {
    section.append(
      h('h4', {}, 'Key packages'),
      table(['package', 'version'], key.map(name => [name, h('code', {}, packages[name])]), 'jp-notelock-packages')
    );
  }
  if (names.length) {
    section.append(
      h(
        'details',
        { class: 'jp-notelock-all-packages' },
        h('summary', {}, `All ${names.length} packages`),
        table(['package', 'version'], names.sort().map(name => [name, h('code', {}, packages[name])]), 'jp-notelock-packages')
      )
    );
  }
  return section;
}

