// The gallery's first two requests leave from an inline script in index.html, before the
// bundle is loaded and run; the gallery takes those responses instead of asking again.
// Keys are URLs with sorted parameters, so both sides may order them differently.
import { ApiError } from "./api";

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

/** The prefetched response for ``url`` as JSON (once), or null if there is none. */
export function takePrefetched<T>(url: string): Promise<T> | null {
  const store = window.__jipPrefetch;
  if (!store) return null;
  const key = canonicalUrl(url);
  const resp = store[key];
  if (!resp) return null;
  delete store[key];
  return resp.then(async (r) => {
    if (!r.ok) {
      let detail = `${r.status} ${r.statusText}`;
      try {
        const body = await r.json();
        if (typeof body.detail === "string") detail = body.detail;
      } catch {
        /* not JSON: keep the status line */
      }
      throw new ApiError(detail, r.status);
    }
    return (await r.json()) as T;
  }, (e) => {
    throw new ApiError(`The server cannot be reached (${(e as Error).message})`, 0);
  });
}

/** Start a GET now (e.g. in a click handler, before the re-render that will ask for it). */
export function prefetch(url: string): void {
  const store = (window.__jipPrefetch ??= {});
  store[canonicalUrl(url)] = fetch(url);
}
