// Series viewer: wheel or arrow keys scroll slices, drag pans, shift+wheel or the
// buttons zoom, presets set window/level, right-drag adjusts it; metadata table aside.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, fmtDate, type SeriesDetail } from "../api";
import { SegCanvas, SegPanel, SliceMarks, useSegOverlay } from "../components/SegOverlay";
import { ErrorBox, Loading } from "../components/States";
import {
  decode,
  fetchInstance,
  instanceUrl,
  paint,
  renderedUrl,
  type Slice,
  UnsupportedImage,
} from "../dicom";

const PRESETS: [string, number, number][] = [
  ["CT lung", -600, 1500],
  ["CT soft tissue", 40, 400],
  ["CT bone", 400, 1800],
];

type Loaded = Slice | "rendered" | Error;

export function Viewer({ uid }: { uid: string }) {
  const [detail, setDetail] = useState<SeriesDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [idx, setIdx] = useState(0);
  const [cache] = useState(() => new Map<number, Loaded>());
  const [, setTick] = useState(0);
  const [win, setWin] = useState<[number, number] | null>(null);
  const [zoom, setZoom] = useState(1);
  const [pan, setPan] = useState<[number, number]>([0, 0]);
  const [tags, setTags] = useState<Record<string, unknown> | null>(null);
  const [tagFilter, setTagFilter] = useState("");
  const canvas = useRef<HTMLCanvasElement>(null);
  const drag = useRef<{ x: number; y: number; button: number } | null>(null);
  const overlay = useSegOverlay(uid);

  useEffect(() => {
    setDetail(null);
    setError(null);
    cache.clear();
    setIdx(0);
    api.seriesDetail(uid).then((d) => {
      setDetail(d);
      setIdx(Math.floor(d.instances.length / 2));
    }, setError);
  }, [uid]);

  const n = detail?.instances.length ?? 0;
  const inst = detail?.instances[idx];

  // load the current slice and its neighbours
  useEffect(() => {
    if (!detail) return;
    const { study_uid, series_uid } = detail.series;
    for (const i of [idx, idx + 1, idx - 1, idx + 2]) {
      if (i < 0 || i >= n || cache.has(i)) continue;
      const sop = detail.instances[i].sop_instance_uid;
      cache.set(i, new Error("loading"));
      fetchInstance(instanceUrl(study_uid, series_uid, sop))
        .then((b) => decode(b))
        .then(
          (s) => cache.set(i, s),
          (e) => cache.set(i, e instanceof UnsupportedImage ? "rendered" : (e as Error)),
        )
        .finally(() => setTick((t) => t + 1));
    }
  }, [detail, idx]);

  useEffect(() => {
    if (!detail || !inst) return;
    setTags(null);
    api.tags(uid, inst.sop_instance_uid).then(setTags, () => setTags({}));
  }, [detail, idx]);

  const cur = cache.get(idx);
  const slice = cur && !(cur instanceof Error) && cur !== "rendered" ? cur : null;
  const center = win ? win[0] : (slice?.windowCenter ?? 40);
  const width = win ? win[1] : (slice?.windowWidth ?? 400);
  useEffect(() => {
    if (slice && canvas.current) paint(canvas.current, slice, center, width);
  }, [slice, center, width]);

  const step = (d: number) => setIdx((i) => Math.min(Math.max(0, i + d), Math.max(0, n - 1)));
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      const t = e.target as HTMLInputElement;
      // typing in a text field or moving a slider keeps its keys; checkboxes do not
      if (t.tagName === "INPUT" && t.type !== "checkbox") return;
      if (e.key === "ArrowUp" || e.key === "ArrowLeft") step(-1);
      if (e.key === "ArrowDown" || e.key === "ArrowRight") step(1);
    };
    window.addEventListener("keydown", key);
    return () => window.removeEventListener("keydown", key);
  }, [n]);

  if (error) return <ErrorBox error={error} />;
  if (!detail) return <Loading what="Loading series" />;
  const s = detail.series;
  const status = !cur
    ? "loading"
    : cur === "rendered"
      ? "rendered"
      : cur instanceof Error
        ? cur.message === "loading"
          ? "loading"
          : "error"
        : "loaded";

  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    if (e.shiftKey || e.ctrlKey) setZoom((z) => Math.min(16, Math.max(0.25, z * (e.deltaY < 0 ? 1.2 : 1 / 1.2))));
    else step(e.deltaY > 0 ? 1 : -1);
  };
  const onDown = (e: MouseEvent) => {
    drag.current = { x: e.clientX, y: e.clientY, button: e.button };
  };
  const onMove = (e: MouseEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    drag.current = { ...d, x: e.clientX, y: e.clientY };
    if (d.button === 2) setWin([center + dy * 2, Math.max(1, width + dx * 4)]);
    else setPan(([x, y]) => [x + dx, y + dy]);
  };
  const sopAt = (i: number) => detail.instances[i]?.sop_instance_uid;
  const jumpTo = (sops: string[]) => {
    const at = detail.instances
      .map((x, i) => (sops.includes(x.sop_instance_uid) ? i : -1))
      .filter((i) => i >= 0);
    if (at.length) setIdx(at[Math.floor(at.length / 2)]);
  };
  const entries = Object.entries(tags || {}).filter(([k, v]) =>
    `${k} ${JSON.stringify(v)}`.toLowerCase().includes(tagFilter.toLowerCase()),
  );

  return (
    <div class="viewer-page">
      <section class="viewer">
        <header class="toolbar">
          <strong>
            {s.modality} · {s.description || "(no description)"}
          </strong>
          <span class="muted small">
            <a href={`/patients/${encodeURIComponent(s.patient_id)}`}>{s.patient_id}</a> ·{" "}
            <a href={`/studies/${s.study_uid}`}>{fmtDate(s.study_date)}</a>
          </span>
          <span class="spacer" />
          {PRESETS.map(([label, c, w]) => (
            <button type="button" key={label} onClick={() => setWin([c, w])}>
              {label}
            </button>
          ))}
          <button type="button" onClick={() => setWin(null)} title="window from the DICOM header">
            Default W/L
          </button>
          <button type="button" onClick={() => setZoom((z) => Math.min(16, z * 1.25))}>
            +
          </button>
          <button type="button" onClick={() => setZoom((z) => Math.max(0.25, z / 1.25))}>
            −
          </button>
          <button
            type="button"
            onClick={() => {
              setZoom(1);
              setPan([0, 0]);
            }}
          >
            Reset
          </button>
        </header>
        <div
          class="viewport"
          data-testid="viewport"
          data-status={status}
          data-slice={idx + 1}
          onWheel={onWheel}
          onMouseDown={onDown}
          onMouseMove={onMove}
          onMouseUp={() => (drag.current = null)}
          onMouseLeave={() => (drag.current = null)}
          onContextMenu={(e) => e.preventDefault()}
        >
          <div
            class="stage"
            style={{ transform: `translate(${pan[0]}px, ${pan[1]}px) scale(${zoom})` }}
          >
            {status === "rendered" && inst ? (
              <img
                alt="slice"
                src={renderedUrl(s.study_uid, s.series_uid, inst.sop_instance_uid)}
                draggable={false}
              />
            ) : (
              <canvas ref={canvas} class={slice ? "" : "hidden"} />
            )}
            <SegCanvas
              state={overlay.state}
              sop={inst?.sop_instance_uid}
              prefetch={[sopAt(idx + 1), sopAt(idx - 1)].filter((x): x is string => !!x)}
            />
          </div>
          {status === "loading" && <div class="overlay">loading slice…</div>}
          {status === "error" && (
            <div class="overlay error" role="alert">
              Cannot load this slice: {(cur as Error).message}
            </div>
          )}
          <div class="corner tl" data-testid="slice-label">
            {n ? `${idx + 1} / ${n}` : "no images"}
          </div>
          <div class="corner tr">
            W {Math.round(width)} L {Math.round(center)} · zoom {zoom.toFixed(2)}
          </div>
        </div>
        <input
          type="range"
          class="slider"
          aria-label="slice"
          min={1}
          max={Math.max(1, n)}
          value={idx + 1}
          onInput={(e) => setIdx(Number((e.target as HTMLInputElement).value) - 1)}
        />
        <SliceMarks
          state={overlay.state}
          sops={detail.instances.map((x) => x.sop_instance_uid)}
          onPick={setIdx}
        />
      </section>
      <aside class="meta">
        <h3>Segmentations</h3>
        <SegPanel {...overlay} sop={inst?.sop_instance_uid} onJump={jumpTo} />
        <h3>Metadata {inst ? `(slice ${idx + 1})` : ""}</h3>
        <input
          type="search"
          class="small"
          placeholder="filter tags"
          value={tagFilter}
          onInput={(e) => setTagFilter((e.target as HTMLInputElement).value)}
        />
        {tags === null ? (
          <Loading what="Loading tags" />
        ) : (
          <table class="table compact" data-testid="metadata">
            <tbody>
              {entries.map(([k, v]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td>{typeof v === "string" ? v : JSON.stringify(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </aside>
    </div>
  );
}
