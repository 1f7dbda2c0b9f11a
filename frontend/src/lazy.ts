// Work the gallery defers so the first page and a facet click get the machine first:
// thumbnails load only when their card is (nearly) on screen, and side requests wait
// for the first page of results.

type Show = () => void;
const pending = new Map<Element, Show>();
let observer: IntersectionObserver | null = null;

/** Call ``show`` once ``el`` comes within 150 px of the viewport; returns a cancel.
 * (Native loading="lazy" starts 1,250-2,500 px ahead in Chromium: every thumbnail of a
 * page.) */
export function whenNearViewport(el: Element, show: Show): () => void {
  if (typeof IntersectionObserver === "undefined") {
    show();
    return () => {};
  }
  observer ??= new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const fn = pending.get(e.target);
        pending.delete(e.target);
        observer?.unobserve(e.target);
        fn?.();
      }
    },
    { rootMargin: "150px 0px" },
  );
  pending.set(el, show);
  observer.observe(el);
  return () => {
    pending.delete(el);
    observer?.unobserve(el);
  };
}

let shown: () => void = () => {};
const firstPage = new Promise<void>((resolve) => (shown = resolve));

/** The gallery calls this once its first page of results is on screen. */
export function markFirstPageShown(): void {
  shown();
}

/** Run ``fn`` after the gallery's first page is shown (at most ``maxWaitMs`` later; at
 * once on other pages), so side requests do not compete with the gallery's own. */
export function afterFirstPage(fn: () => void, maxWaitMs = 1500): void {
  if (location.pathname !== "/") {
    fn();
    return;
  }
  Promise.race([firstPage, new Promise((r) => setTimeout(r, maxWaitMs))]).then(fn);
}
