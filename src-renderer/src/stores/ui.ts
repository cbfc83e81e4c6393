/**
 * Where the user is (the view, from the URL hash, so Back works and a view can be linked) and the theme, which
 * follows the system's light/dark setting.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';

/** The views that take their state from the hash's query (`#/playground?a=run/step_100.safetensors`). */
export const PARAM_VIEWS = ['new', 'sweeps', 'queue', 'checkpoints', 'playground', 'datasets'] as const;
export type ParamView = (typeof PARAM_VIEWS)[number];

export type Route =
  | { view: 'runs' }
  | { view: 'run'; id: string }
  | { view: 'compare'; ids: string[] }
  | { view: ParamView; params: Record<string, string> };

function isParamView(v: string | undefined): v is ParamView {
  return (PARAM_VIEWS as readonly string[]).includes(v ?? '');
}

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [path, query = ''] = h.split('?');
  const parts = path.split('/').map(decodeURIComponent);
  if (parts[0] === 'run' && parts[1]) return { view: 'run', id: parts[1] };
  if (parts[0] === 'compare') {
    const ids = new URLSearchParams(query).get('ids');
    return { view: 'compare', ids: ids ? ids.split(',').filter(Boolean) : [] };
  }
  if (isParamView(parts[0])) return { view: parts[0], params: Object.fromEntries(new URLSearchParams(query)) };
  return { view: 'runs' };
}

export function routeHash(r: Route): string {
  if (r.view === 'run') return `#/run/${encodeURIComponent(r.id)}`;
  if (r.view === 'compare') return `#/compare?ids=${r.ids.map(encodeURIComponent).join(',')}`;
  if (r.view !== 'runs') {
    const q = new URLSearchParams(r.params).toString();
    return `#/${r.view}${q ? `?${q}` : ''}`;
  }
  return '#/runs';
}

export const useUiStore = defineStore('ui', () => {
  const route = ref<Route>(typeof location === 'undefined' ? { view: 'runs' } : parseRoute(location.hash));
  const dark = ref(false);
  const notice = ref<{ level: 'info' | 'warning' | 'error'; message: string } | null>(null);

  function go(r: Route): void {
    route.value = r;
    if (typeof location !== 'undefined' && location.hash !== routeHash(r)) location.hash = routeHash(r);
  }

  function start(): void {
    window.addEventListener('hashchange', () => {
      route.value = parseRoute(location.hash);
    });
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    dark.value = mq.matches;
    mq.addEventListener('change', (e) => {
      dark.value = e.matches;
    });
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  function notify(level: 'info' | 'warning' | 'error', message: string, ms = 6000): void {
    notice.value = { level, message };
    clearTimeout(timer);
    timer = setTimeout(() => (notice.value = null), ms);
  }

  return { route, dark, notice, go, start, notify };
});
