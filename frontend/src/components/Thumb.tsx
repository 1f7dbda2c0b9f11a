// A series thumbnail with a placeholder while it loads or when the server has none;
// requested only when the card comes near the viewport (see lazy.ts).
import { useEffect, useRef, useState } from "preact/hooks";
import type { Series } from "../api";
import { whenNearViewport } from "../lazy";

export function Thumb({ s }: { s: Series }) {
  const [state, setState] = useState<"waiting" | "loading" | "ok" | "failed">("waiting");
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    return whenNearViewport(box.current, () => setState((st) => (st === "waiting" ? "loading" : st)));
  }, []);
  return (
    <div class={`thumb ${state}`} ref={box}>
      {(state === "loading" || state === "ok") && (
        <img
          src={s.thumbnail_url}
          alt={`${s.modality} ${s.description}`}
          decoding="async"
          onLoad={() => setState("ok")}
          onError={() => setState("failed")}
        />
      )}
      {state !== "ok" && (
        <div class="placeholder" aria-hidden="true">
          {s.modality || "?"}
        </div>
      )}
    </div>
  );
}
