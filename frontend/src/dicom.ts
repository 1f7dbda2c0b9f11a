// Fetch one instance over WADO-RS and decode its pixels with dicom-parser, keeping
// modality values (HU for CT) so window/level is applied client-side.
import { parseDicom } from "dicom-parser";

export interface Slice {
  width: number;
  height: number;
  /** modality values (after rescale) for grayscale; null for colour */
  values: Float32Array | null;
  rgb: Uint8ClampedArray | null;
  invert: boolean;
  windowCenter: number;
  windowWidth: number;
  min: number;
  max: number;
}

const UNCOMPRESSED = new Set([
  "1.2.840.10008.1.2",
  "1.2.840.10008.1.2.1",
  "1.2.840.10008.1.2.2",
]);

export class UnsupportedImage extends Error {}

export function instanceUrl(study: string, series: string, sop: string): string {
  return `/dicomweb/studies/${study}/series/${series}/instances/${sop}`;
}

export function renderedUrl(study: string, series: string, sop: string): string {
  return `${instanceUrl(study, series, sop)}/frames/1/rendered`;
}

export async function fetchInstance(url: string, signal?: AbortSignal): Promise<Uint8Array> {
  const resp = await fetch(url, {
    headers: { Accept: 'multipart/related; type="application/dicom", application/dicom' },
    signal,
  });
  if (!resp.ok) throw new Error(`WADO-RS ${resp.status} ${resp.statusText}`);
  const type = resp.headers.get("Content-Type") || "";
  const body = new Uint8Array(await resp.arrayBuffer());
  return type.startsWith("multipart/") ? firstPart(body, type) : body;
}

/** The body of the first part of a multipart/related response. */
export function firstPart(body: Uint8Array, contentType: string): Uint8Array {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new Error("multipart response without boundary");
  const text = new TextDecoder("latin1").decode(body);
  const delim = `--${m[1]}`;
  const start = text.indexOf(delim);
  if (start < 0) throw new Error("multipart boundary not found");
  const headersEnd = text.indexOf("\r\n\r\n", start);
  if (headersEnd < 0) throw new Error("malformed multipart part");
  const dataStart = headersEnd + 4;
  const end = text.indexOf(`\r\n${delim}`, dataStart);
  return body.subarray(dataStart, end < 0 ? body.length : end);
}

export function decode(bytes: Uint8Array): Slice {
  const ds = parseDicom(bytes);
  const ts = ds.string("x00020010") || "";
  const pixel = ds.elements.x7fe00010;
  if (!pixel) throw new UnsupportedImage("no pixel data");
  if (!UNCOMPRESSED.has(ts) || pixel.encapsulatedPixelData)
    throw new UnsupportedImage(`compressed transfer syntax ${ts}`);
  const width = ds.uint16("x00280011") || 0;
  const height = ds.uint16("x00280010") || 0;
  const bits = ds.uint16("x00280100") || 16;
  const signed = ds.uint16("x00280103") === 1;
  const spp = ds.uint16("x00280002") || 1;
  const photometric = (ds.string("x00280004") || "MONOCHROME2").trim();
  const n = width * height;
  const buf = ds.byteArray.buffer;
  const off = ds.byteArray.byteOffset + pixel.dataOffset;
  if (spp === 3 && bits === 8) {
    const src = new Uint8Array(buf.slice(off, off + n * 3));
    const planar = ds.uint16("x00280006") === 1;
    const rgb = new Uint8ClampedArray(n * 4);
    for (let i = 0; i < n; i++) {
      rgb[i * 4] = planar ? src[i] : src[i * 3];
      rgb[i * 4 + 1] = planar ? src[n + i] : src[i * 3 + 1];
      rgb[i * 4 + 2] = planar ? src[2 * n + i] : src[i * 3 + 2];
      rgb[i * 4 + 3] = 255;
    }
    return {
      width, height, values: null, rgb, invert: false,
      windowCenter: 128, windowWidth: 256, min: 0, max: 255,
    };
  }
  if (spp !== 1) throw new UnsupportedImage(`${spp} samples per pixel`);
  const copy = buf.slice(off, off + n * (bits / 8));
  const raw =
    bits === 8
      ? signed
        ? new Int8Array(copy)
        : new Uint8Array(copy)
      : bits === 16
        ? signed
          ? new Int16Array(copy)
          : new Uint16Array(copy)
        : null;
  if (!raw) throw new UnsupportedImage(`${bits} bits allocated`);
  const slope = ds.floatString("x00281053") ?? 1;
  const intercept = ds.floatString("x00281052") ?? 0;
  const values = new Float32Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = raw[i] * slope + intercept;
    values[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const wc = ds.floatString("x00281050");
  const ww = ds.floatString("x00281051");
  return {
    width,
    height,
    values,
    rgb: null,
    invert: photometric === "MONOCHROME1",
    windowCenter: wc ?? (min + max) / 2,
    windowWidth: ww && ww > 0 ? ww : Math.max(1, max - min),
    min,
    max,
  };
}

/** Paint the slice into a canvas with the given window (linear VOI LUT). */
export function paint(canvas: HTMLCanvasElement, s: Slice, center: number, width: number): void {
  canvas.width = s.width;
  canvas.height = s.height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(s.width, s.height);
  if (s.rgb) {
    img.data.set(s.rgb);
  } else if (s.values) {
    const lo = center - width / 2;
    const scale = 255 / Math.max(1, width);
    const d = img.data;
    for (let i = 0; i < s.values.length; i++) {
      let g = (s.values[i] - lo) * scale;
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      if (s.invert) g = 255 - g;
      d[i * 4] = d[i * 4 + 1] = d[i * 4 + 2] = g;
      d[i * 4 + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}
