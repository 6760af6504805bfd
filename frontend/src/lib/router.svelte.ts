import { parseHash, type Route } from './routes';

/** The current route, kept in sync with location.hash. */
export const router: { route: Route } = $state({ route: parseHash(location.hash) });

window.addEventListener('hashchange', () => {
  router.route = parseHash(location.hash);
});
