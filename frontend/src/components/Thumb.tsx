// A series thumbnail with a placeholder while it loads or when the server has none.
import { useState } from "preact/hooks";
import type { Series } from "../api";

export function Thumb({ s }: { s: Series }) {
  const [state, setState] = useState<"loading" | "ok" | "failed">("loading");
  return (
    <div class={`thumb ${state}`}>
      {state !== "failed" && (
        <img
          src={s.thumbnail_url}
          alt={`${s.modality} ${s.description}`}
          loading="lazy"
          decoding="async"
          fetchpriority="low"
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
