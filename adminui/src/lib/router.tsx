// A small router over the History API: the portal has a handful of pages,
// and keeps its filters in the query string so a view can be shared.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** BASE is where the admin API serves the portal. */
export const BASE = '/admin';

const listeners = new Set<() => void>();

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  window.addEventListener('popstate', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('popstate', fn);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

/** Route is the portal path (without BASE) and its query. */
export interface Route {
  path: string;
  search: URLSearchParams;
}

export function parseLocation(pathname: string, search: string): Route {
  let path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  if (path === '') path = '/';
  return { path, search: new URLSearchParams(search) };
}

/** useRoute re-renders on navigation. */
export function useRoute(): Route {
  const loc = useSyncExternalStore(subscribe, snapshot, snapshot);
  const i = loc.indexOf('?');
  return parseLocation(i < 0 ? loc : loc.slice(0, i), i < 0 ? '' : loc.slice(i));
}

/** href turns a portal path ("/keys?q=a") into a URL path. */
export function href(to: string): string {
  return BASE + (to.startsWith('/') ? to : `/${to}`);
}

/** navigate goes to a portal path; replace keeps the history length (filters). */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = href(to);
  if (url === snapshot()) return;
  if (opts.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  for (const fn of listeners) fn();
}

/** setQuery changes query parameters of the current page in place; empty values are removed. */
export function setQuery(changes: Record<string, string | undefined>, route: Route): void {
  const q = new URLSearchParams(route.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(route.path + (s ? `?${s}` : ''), { replace: true });
}

/** Link is an anchor that navigates without reloading. */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  return (
    <a
      {...rest}
      href={href(to)}
      onClick={(e: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    />
  );
}
