// Hash routes in Deck's shapes, so links from Spinnaker habits and Echo's notifications work:
// `#/applications/shop/executions/details/01J…?stage=…`.

import { useEffect, useState } from 'preact/hooks';

export interface Location {
  parts: string[];
  query: URLSearchParams;
}

export function current(): Location {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = hash.split('?', 2);
  const parts = path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
  return { parts, query: new URLSearchParams(search) };
}

/** The href of a route; each part is escaped, so a name can never add a segment or a query. */
export function href(parts: string[], query?: Record<string, string | undefined>): string {
  const path = parts.map((part) => encodeURIComponent(part)).join('/');
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value) search.set(key, value);
  const text = search.toString();
  return `#/${path}${text ? `?${text}` : ''}`;
}

export function navigate(parts: string[], query?: Record<string, string | undefined>, replace = false): void {
  const target = href(parts, query);
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const changed = () => setLocation(current());
    window.addEventListener('hashchange', changed);
    window.addEventListener('popstate', changed);
    return () => {
      window.removeEventListener('hashchange', changed);
      window.removeEventListener('popstate', changed);
    };
  }, []);
  return location;
}
