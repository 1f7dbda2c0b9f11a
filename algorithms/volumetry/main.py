"""volumetry: per-segment volume and first-order statistics -> CSV.

Contract: $JIP_INPUT_DIR holds the SEG series and the image series it references (one
sub-folder each); writes $JIP_OUTPUT_DIR/<SEG SeriesInstanceUID>.csv.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from scipy import stats

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def read_folder(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.iterdir()) if p.is_file()]


def sort_slices(slices: list[pydicom.Dataset]) -> tuple[list[pydicom.Dataset], float]:
    iop = np.array(slices[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    pos = [float(np.dot(normal, np.array(d.ImagePositionPatient, float))) for d in slices]
    order = np.argsort(pos)
    ordered = [slices[i] for i in order]
    gaps = np.diff(np.sort(pos))
    spacing = float(np.median(gaps)) if gaps.size else float(slices[0].get("SliceThickness", 1))
    return ordered, spacing


def measure(seg_file: pydicom.Dataset, images: list[pydicom.Dataset],
            percentiles: list[float]) -> list[dict]:
    seg = hd.seg.Segmentation.from_dataset(seg_file)
    images, spacing = sort_slices(images)
    uids = [str(d.SOPInstanceUID) for d in images]
    hu = np.stack(
        [d.pixel_array * float(d.get("RescaleSlope", 1)) + float(d.get("RescaleIntercept", 0))
         for d in images]
    ).astype(np.float64)
    row_mm, col_mm = (float(v) for v in images[0].PixelSpacing)
    voxel_ml = row_mm * col_mm * spacing / 1000.0
    numbers = list(seg.segment_numbers)
    masks = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=numbers,
        assert_missing_frames_are_empty=True,
    )
    rows = []
    for i, number in enumerate(numbers):
        mask = masks[..., i] > 0
        values = hu[mask]
        desc = seg.get_segment_description(number)
        row: dict = {
            "seg_series_uid": str(seg_file.SeriesInstanceUID),
            "image_series_uid": str(images[0].SeriesInstanceUID),
            "segment_number": number,
            "segment_label": desc.segment_label,
            "voxels": int(mask.sum()),
            "volume_ml": round(float(mask.sum()) * voxel_ml, 4),
        }
        if values.size:
            row.update(
                mean=round(float(values.mean()), 4), std=round(float(values.std()), 4),
                min=float(values.min()), max=float(values.max()),
                median=float(np.median(values)),
                skewness=round(float(stats.skew(values)), 4) if values.std() else 0.0,
                kurtosis=round(float(stats.kurtosis(values)), 4) if values.std() else 0.0,
            )
            for p in percentiles:
                row[f"p{p:g}"] = float(np.percentile(values, p))
        rows.append(row)
    return rows


def main() -> int:
    inp = Path(os.environ.get("JIP_INPUT_DIR", "/input"))
    out = Path(os.environ.get("JIP_OUTPUT_DIR", "/output"))
    params = json.loads(Path(os.environ.get("JIP_PARAMS", "/params.json")).read_text())
    percentiles = [float(p) for p in params.get("percentiles", [5, 95])]
    folders = {f.name: read_folder(f) for f in sorted(inp.iterdir()) if f.is_dir()}
    segs = [(uid, ds) for uid, dss in folders.items() for ds in dss
            if str(ds.SOPClassUID) == SEG_SOP_CLASS]
    if not segs:
        print("no SEG object in the input", file=sys.stderr)
        return 2
    for seg_uid, seg_ds in segs:
        refs = [str(item.SeriesInstanceUID) for item in seg_ds.ReferencedSeriesSequence]
        images = [ds for ref in refs for ds in folders.get(ref, [])]
        if not images:
            print(f"SEG {seg_uid}: referenced series {refs} not staged", file=sys.stderr)
            return 3
        rows = measure(seg_ds, images, percentiles)
        fields: list[str] = []
        for r in rows:
            fields += [k for k in r if k not in fields]
        with (out / f"{seg_uid}.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        for r in rows:
            print(f"{seg_uid}: {r['segment_label']} {r['volume_ml']} ml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
