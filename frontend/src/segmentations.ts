// DICOM SEG overlays: which SEGs segment a series (GET /api/v1/series/{uid}/segmentations)
// and one slice's run-length masks (GET .../segmentations/{sop}/masks?source=SOP), painted
// into a transparent canvas over the image.
import { enc, request } from "./api";

export interface Segment {
  number: number;
  label: string;
  color: string; // #rrggbb
  category: string;
  property_type: string;
  algorithm_type: string;
  algorithm_name: string;
}

export interface Segmentation {
  sop_instance_uid: string;
  series_uid: string;
  series_description: string;
  series_number: number | null;
  content_label: string;
  segmentation_type: string;
  rows: number;
  columns: number;
  segments: Segment[];
  /** source SOP Instance UID -> numbers of the segments drawn on that slice */
  slices: Record<string, number[]>;
  masks_url: string;
}

export interface SegmentationList {
  source_series_uid: string;
  items: Segmentation[];
  problems: { sop_instance_uid: string; series_uid: string; detail: string }[];
}

export interface SliceMasks {
  segmentation_sop: string;
  source_sop: string;
  rows: number;
  columns: number;
  segments: { number: number; runs: number[] }[];
}

export const segApi = {
  list: (seriesUid: string) =>
    request<SegmentationList>(`/api/v1/series/${enc(seriesUid)}/segmentations`),
  masks: (seg: Segmentation, sourceSop: string, signal?: AbortSignal) =>
    request<SliceMasks>(`${seg.masks_url}?source=${enc(sourceSop)}`, { signal }),
};

/** Key of one segment of one SEG, for the visibility toggles. */
export function segKey(segSop: string, number: number): string {
  return `${segSop}#${number}`;
}

export function rgbOf(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 0];
}

export interface Layer {
  masks: SliceMasks;
  colors: Map<number, [number, number, number]>;
  visible: (number: number) => boolean;
}

/** Paint the visible segments of the layers opaquely (the canvas' CSS opacity blends
 * them with the image), later segments over earlier ones; returns the pixels painted. */
export function paintMasks(canvas: HTMLCanvasElement, width: number, height: number, layers: Layer[]): number {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return 0;
  const img = ctx.createImageData(width, height);
  const px = new Uint32Array(img.data.buffer);
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const n = width * height;
  for (const layer of layers) {
    if (layer.masks.columns !== width || layer.masks.rows !== height) continue;
    for (const seg of layer.masks.segments) {
      if (!layer.visible(seg.number)) continue;
      const [r, g, b] = layer.colors.get(seg.number) ?? [255, 0, 0];
      const word = little ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
      const runs = seg.runs;
      for (let i = 0; i + 1 < runs.length; i += 2) {
        const start = Math.max(0, runs[i]);
        px.fill(word, start, Math.min(n, start + runs[i + 1]));
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  let painted = 0;
  for (let i = 0; i < n; i++) if (px[i] !== 0) painted++;
  return painted;
}
