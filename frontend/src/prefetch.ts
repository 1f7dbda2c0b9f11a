// The gallery's request leaves early: from an inline script in index.html before the
// bundle is loaded and run, and from a click handler before the re-render; the gallery
// then takes that response instead of asking again. Keys are URLs with sorted
// parameters, so both sides may order them differently.
import { checked, unreachable } from "./api";

declare global {
  interface Window {
    __jipPrefetch?: Record<string, Promise<Response>>;
  }
}

export function canonicalUrl(url: string): string {
  const u = new URL(url, location.origin);
  const params = [...u.searchParams.entries()].sort(([a, x], [b, y]) =>
    a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1,
  );
  return `${u.pathname}?${new URLSearchParams(params)}`;
}

/** Start a GET now (e.g. in a click handler, before the re-render that will ask for it). */
export function prefetch(url: string): void {
  const store = (window.__jipPrefetch ??= {});
  store[canonicalUrl(url)] = fetch(url);
}

/** The response to ``url``: the prefetched one if there is one (taken once), else a new
 * request. Errors are ApiError with the server's message, like the rest of the API. */
export function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const store = window.__jipPrefetch;
  const key = canonicalUrl(url);
  const early = store?.[key];
  if (store && early) delete store[key];
  return (early ?? fetch(url, { signal }))
    .then(checked, unreachable)
    .then((r) => r.json() as Promise<T>);
}
