// SEG overlays of the viewer: the legend panel (per-segment toggles, colours, opacity)
// and the canvas that draws the current slice's masks over the image.
import { useEffect, useRef, useState } from "preact/hooks";
import {
  type Layer,
  paintMasks,
  rgbOf,
  type Segmentation,
  type SegmentationList,
  segApi,
  segKey,
  type SliceMasks,
} from "../segmentations";

export interface OverlayState {
  list: SegmentationList | null;
  error: unknown;
  on: boolean;
  opacity: number;
  hidden: Set<string>; // segKey of segments switched off
}

/** The SEGs of a series and the viewer's overlay settings (all segments shown). */
export function useSegOverlay(seriesUid: string) {
  const [state, setState] = useState<OverlayState>({
    list: null,
    error: null,
    on: true,
    opacity: 0.5,
    hidden: new Set(),
  });
  useEffect(() => {
    setState((s) => ({ ...s, list: null, error: null, hidden: new Set() }));
    segApi.list(seriesUid).then(
      (list) => setState((s) => ({ ...s, list })),
      (error) => setState((s) => ({ ...s, error })),
    );
  }, [seriesUid]);
  const update = (patch: Partial<OverlayState>) => setState((s) => ({ ...s, ...patch }));
  const toggle = (key: string) =>
    setState((s) => {
      const hidden = new Set(s.hidden);
      if (hidden.has(key)) hidden.delete(key);
      else hidden.add(key);
      return { ...s, hidden };
    });
  return { state, update, toggle };
}

type Cached = SliceMasks | "loading" | Error;

/** Transparent canvas over the image: the visible segments of every SEG on one slice. */
export function SegCanvas({
  state,
  sop,
  prefetch,
}: {
  state: OverlayState;
  sop: string | undefined;
  prefetch: string[];
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [cache] = useState(() => new Map<string, Cached>());
  const [tick, setTick] = useState(0);
  const [painted, setPainted] = useState(0);
  const segs = state.list?.items ?? [];

  // fetch the masks of this slice and its neighbours, only where a SEG has segments
  useEffect(() => {
    if (!state.on) return;
    for (const s of [sop, ...prefetch]) {
      if (!s) continue;
      for (const seg of segs) {
        const k = `${seg.sop_instance_uid}|${s}`;
        if (!seg.slices[s] || cache.has(k)) continue;
        cache.set(k, "loading");
        segApi.masks(seg, s).then(
          (m) => cache.set(k, m),
          (e) => cache.set(k, e as Error),
        ).finally(() => setTick((t) => t + 1));
      }
    }
  }, [state.list, state.on, sop]);

  const relevant = segs.filter((seg) => sop && seg.slices[sop]);
  const entries = relevant.map((seg) => cache.get(`${seg.sop_instance_uid}|${sop}`));
  const loading = entries.some((e) => e === undefined || e === "loading");
  const failed = entries.find((e): e is Error => e instanceof Error);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const layers: Layer[] = [];
    let width = segs[0]?.columns ?? 1;
    let height = segs[0]?.rows ?? 1;
    if (state.on && sop) {
      relevant.forEach((seg: Segmentation, i) => {
        const m = entries[i];
        if (!m || m === "loading" || m instanceof Error) return;
        width = m.columns;
        height = m.rows;
        layers.push({
          masks: m,
          colors: new Map(seg.segments.map((s) => [s.number, rgbOf(s.color)])),
          visible: (n) => !state.hidden.has(segKey(seg.sop_instance_uid, n)),
        });
      });
    }
    setPainted(paintMasks(c, width, height, layers));
  }, [sop, tick, state.on, state.hidden, state.list]);

  if (!segs.length) return null;
  return (
    <canvas
      ref={canvas}
      class="seg-overlay"
      data-testid="seg-overlay"
      data-source-sop={sop}
      data-painted={painted}
      data-state={!state.on ? "off" : failed ? "error" : loading ? "loading" : "ready"}
      title={failed ? `overlay: ${failed.message}` : undefined}
      style={{ opacity: state.on ? state.opacity : 0 }}
    />
  );
}

/** Legend: every SEG with its segments (toggle, colour, label), opacity, on/off. */
export function SegPanel({
  state,
  update,
  toggle,
  sop,
  onJump,
}: ReturnType<typeof useSegOverlay> & { sop: string | undefined; onJump: (sops: string[]) => void }) {
  const { list, error } = state;
  if (error)
    return (
      <p class="small error" role="alert">
        Segmentations cannot be listed: {(error as Error).message}
      </p>
    );
  if (!list) return <p class="muted small">Looking for segmentations…</p>;
  if (!list.items.length && !list.problems.length)
    return (
      <p class="muted small" data-testid="seg-none">
        No segmentations of this series.
      </p>
    );
  return (
    <div class="seg-panel" data-testid="seg-panel">
      <div class="seg-controls">
        <label>
          <input
            type="checkbox"
            data-testid="seg-toggle"
            checked={state.on}
            onChange={(e) => update({ on: (e.target as HTMLInputElement).checked })}
          />{" "}
          Show overlays
        </label>
        <label class="small">
          opacity
          <input
            type="range"
            aria-label="overlay opacity"
            min={0}
            max={100}
            value={Math.round(state.opacity * 100)}
            onInput={(e) => update({ opacity: Number((e.target as HTMLInputElement).value) / 100 })}
          />
        </label>
      </div>
      {list.items.map((seg) => {
        const here = new Set(sop ? (seg.slices[sop] ?? []) : []);
        return (
          <div class="seg-item" key={seg.sop_instance_uid} data-seg-sop={seg.sop_instance_uid}>
            <div class="small">
              <strong>{seg.series_description || seg.content_label || "Segmentation"}</strong>{" "}
              <span class="muted">{seg.segmentation_type.toLowerCase()}</span>
            </div>
            <ul class="seg-legend">
              {seg.segments.map((s) => {
                const key = segKey(seg.sop_instance_uid, s.number);
                const slices = Object.keys(seg.slices).filter((u) => seg.slices[u].includes(s.number));
                return (
                  <li key={key} class={here.has(s.number) ? "here" : ""} data-segment={s.label}>
                    <label title={[s.category, s.property_type, s.algorithm_name].filter(Boolean).join(" · ")}>
                      <input
                        type="checkbox"
                        aria-label={`segment ${s.label}`}
                        checked={!state.hidden.has(key)}
                        onChange={() => toggle(key)}
                      />
                      <span class="swatch" style={{ background: s.color }} />
                      {s.label}
                    </label>
                    <span class="muted small">
                      {slices.length} slice{slices.length === 1 ? "" : "s"}
                    </span>
                    {slices.length > 0 && (
                      <button
                        type="button"
                        class="link small"
                        title="go to a slice with this segment"
                        onClick={() => onJump(slices)}
                      >
                        go
                      </button>
                    )}
                  </li>
                );
              })}
            </ul>
          </div>
        );
      })}
      {list.problems.map((p) => (
        <p class="small error" key={p.sop_instance_uid} role="alert">
          Segmentation {p.sop_instance_uid} cannot be shown: {p.detail}
        </p>
      ))}
    </div>
  );
}

/** Ticks under the slice slider where a shown segment is drawn (colour of the topmost);
 * a click on one goes to that slice. */
export function SliceMarks({
  state,
  sops,
  onPick,
}: {
  state: OverlayState;
  sops: string[];
  onPick: (index: number) => void;
}) {
  const segs = state.list?.items ?? [];
  if (!state.on || !segs.length || sops.length < 2) return null;
  const marks = [];
  for (let i = 0; i < sops.length; i++) {
    let color = "";
    for (const seg of segs) {
      const shown = (seg.slices[sops[i]] ?? []).filter(
        (n) => !state.hidden.has(segKey(seg.sop_instance_uid, n)),
      );
      const top = seg.segments.find((s) => s.number === shown[shown.length - 1]);
      if (top) color = top.color;
    }
    if (color)
      marks.push(
        <span
          key={i}
          class="mark"
          style={{ left: `${(100 * i) / (sops.length - 1)}%`, background: color }}
          title={`slice ${i + 1}`}
          onClick={() => onPick(i)}
        />,
      );
  }
  return (
    <div class="slice-marks" data-testid="slice-marks" aria-hidden="true">
      {marks}
    </div>
  );
}
