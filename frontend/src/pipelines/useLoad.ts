// Load data for a page, reload on demand, and optionally poll while it says so.
import { useEffect, useRef, useState } from "preact/hooks";

export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
  pollMs?: (data: T) => number | null,
) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  const poll = useRef(pollMs);
  poll.current = pollMs;
  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    let lastMs = 0; // polling: a failed request is tried again, less often
    // one request at a time: the next poll is scheduled when this one answered
    const tick = () =>
      load().then(
        (d) => {
          if (!alive) return;
          setData(d);
          setError(null);
          lastMs = poll.current?.(d) || 0;
          if (lastMs) timer = window.setTimeout(tick, lastMs);
        },
        (e) => {
          if (!alive) return;
          setError(e);
          if (lastMs) timer = window.setTimeout(tick, Math.min(lastMs * 3, 10_000));
        },
      );
    setError(null);
    tick();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [...deps, n]);
  return { data, error, reload: () => setN((k) => k + 1) };
}
