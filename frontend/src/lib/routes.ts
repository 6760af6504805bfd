// Hash-based routes: the server serves index.html at `/` and knows nothing about client routes.
//   #/                          projects list
//   #/settings                  API tokens
//   #/projects/:id[/:tab][?q]   a project; tab defaults to overview

export const PROJECT_TABS = [
  'overview',
  'upload',
  'jobs',
  'annotate',
  'label',
  'images',
  'map',
  'review',
  'train',
  'model',
  'predict',
  'search',
] as const;
export type ProjectTab = (typeof PROJECT_TABS)[number];

export const TAB_LABELS: Record<ProjectTab, string> = {
  overview: 'Overview',
  upload: 'Upload',
  jobs: 'Jobs',
  annotate: 'Annotate',
  label: 'Label batch',
  images: 'Images',
  map: 'Map',
  review: 'Review',
  train: 'Train',
  model: 'Model',
  predict: 'Predict',
  search: 'Search',
};

export type Route =
  | { name: 'projects' }
  | { name: 'settings' }
  | { name: 'project'; projectId: number; tab: ProjectTab; query: URLSearchParams }
  | { name: 'notfound'; path: string };

export function parseHash(hash: string): Route {
  let path = hash.startsWith('#') ? hash.slice(1) : hash;
  let query = new URLSearchParams();
  const q = path.indexOf('?');
  if (q >= 0) {
    query = new URLSearchParams(path.slice(q + 1));
    path = path.slice(0, q);
  }
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'projects')) return { name: 'projects' };
  if (parts.length === 1 && parts[0] === 'settings') return { name: 'settings' };
  if (parts[0] === 'projects' && parts.length <= 3) {
    const id = Number(parts[1]);
    const tab = (parts[2] ?? 'overview') as ProjectTab;
    if (Number.isInteger(id) && id > 0 && PROJECT_TABS.includes(tab)) {
      return { name: 'project', projectId: id, tab, query };
    }
  }
  return { name: 'notfound', path };
}

export const href = {
  projects: () => '#/',
  settings: () => '#/settings',
  project: (id: number, tab: ProjectTab = 'overview', query?: Record<string, string | number>) => {
    let h = `#/projects/${id}/${tab}`;
    if (query) {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
      if (qs) h += `?${qs}`;
    }
    return h;
  },
  similar: (projectId: number, imageId: number) => href.project(projectId, 'search', { image: imageId }),
};

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

/** The query of the current hash route (`#/projects/1/images?filter=labeled` → filter=labeled). */
export function currentQuery(hash: string = location.hash): URLSearchParams {
  const q = hash.indexOf('?');
  return new URLSearchParams(q >= 0 ? hash.slice(q + 1) : '');
}

/** `hash` with the query keys in `updates` set (a null or default value removes the key). */
export function withQuery(hash: string, updates: Record<string, string | null>): string {
  const q = hash.indexOf('?');
  const path = q >= 0 ? hash.slice(0, q) : hash;
  const query = currentQuery(hash);
  for (const [k, v] of Object.entries(updates)) {
    if (v === null || v === '') query.delete(k);
    else query.set(k, v);
  }
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Keep a page's view state (filters, sub-tab) in the URL, replacing the current history entry: a reload, or
 * coming back to the page with Back, shows the same view. No hashchange fires, so the page is not re-routed.
 */
export function keepInUrl(updates: Record<string, string | null>): void {
  const next = withQuery(location.hash || '#/', updates);
  if (next !== location.hash) history.replaceState(history.state, '', next);
}
