// A tiny client-side router over the History API (the backend serves index.html for
// every non-API path, so deep links and reloads work).
import { useEffect, useState } from "preact/hooks";

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event("jip:navigate"));
}

export function useLocation(): { path: string; search: string } {
  const [loc, setLoc] = useState({ path: location.pathname, search: location.search });
  useEffect(() => {
    const update = () => setLoc({ path: location.pathname, search: location.search });
    window.addEventListener("popstate", update);
    window.addEventListener("jip:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("jip:navigate", update);
    };
  }, []);
  return loc;
}

/** Intercept clicks on in-app links so they do not reload the page. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const a = (e.target as HTMLElement).closest("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const href = a.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("/api/") || href.startsWith("/dicomweb/"))
    return;
  e.preventDefault();
  navigate(href);
}
