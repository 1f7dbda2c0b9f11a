"""dicom-qa: per-series checks of a slice stack -> one JSON report per series.

Contract: reads $JIP_INPUT_DIR/<SeriesInstanceUID>/*, writes $JIP_OUTPUT_DIR/<uid>.json,
parameters from $JIP_PARAMS. Headers only: pixel data is never decoded.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom


def check_series(folder: Path, spacing_tolerance: float, min_slices: int) -> dict:
    headers = []
    unreadable = []
    for p in sorted(folder.iterdir()):
        try:
            headers.append(pydicom.dcmread(p, stop_before_pixels=True))
        except Exception as exc:  # a broken file is a finding, not a crash
            unreadable.append(f"{p.name}: {exc}")
    issues: list[str] = []
    report: dict = {
        "series_uid": folder.name,
        "modality": str(headers[0].get("Modality", "")) if headers else "",
        "num_instances": len(headers),
        "unreadable": unreadable,
    }
    if unreadable:
        issues.append(f"{len(unreadable)} unreadable file(s)")
    if len(headers) < min_slices:
        issues.append(f"only {len(headers)} slice(s), expected at least {min_slices}")

    numbers = [int(h.InstanceNumber) for h in headers if "InstanceNumber" in h]
    dup_numbers = sorted(n for n, c in Counter(numbers).items() if c > 1)
    report["duplicate_instance_numbers"] = dup_numbers
    if dup_numbers:
        issues.append(f"duplicate instance numbers {dup_numbers[:10]}")
    if numbers:
        expected = set(range(min(numbers), max(numbers) + 1))
        gaps = sorted(expected - set(numbers))
        report["missing_instance_numbers"] = gaps
        if gaps:
            issues.append(f"missing instance numbers {gaps[:10]}")

    orients = {
        tuple(round(float(v), 3) for v in h.ImageOrientationPatient)
        for h in headers
        if "ImageOrientationPatient" in h
    }
    report["orientations"] = [list(o) for o in sorted(orients)]
    report["mixed_orientation"] = len(orients) > 1
    if len(orients) > 1:
        issues.append(f"mixed orientation: {len(orients)} different ImageOrientationPatient")

    positioned = [h for h in headers if "ImagePositionPatient" in h]
    report.update(duplicate_positions=0, missing_slices=0, uneven_spacing=False)
    if len(orients) == 1 and len(positioned) >= 2:
        iop = np.array(next(iter(orients)), dtype=float)
        normal = np.cross(iop[:3], iop[3:])
        z = np.sort([float(np.dot(normal, np.array(h.ImagePositionPatient, float)))
                     for h in positioned])
        gaps = np.diff(z)
        dup = int(np.sum(np.isclose(gaps, 0.0, atol=1e-3)))
        real = gaps[~np.isclose(gaps, 0.0, atol=1e-3)]
        report["duplicate_positions"] = dup
        if dup:
            issues.append(f"{dup} duplicate slice position(s)")
        if real.size:
            step = float(np.median(real))
            report["median_spacing_mm"] = round(step, 4)
            report["min_spacing_mm"] = round(float(real.min()), 4)
            report["max_spacing_mm"] = round(float(real.max()), 4)
            missing = int(sum(max(0, round(g / step) - 1) for g in real if g > 1.5 * step))
            report["missing_slices"] = missing
            if missing:
                issues.append(f"about {missing} missing slice(s) (gaps in position)")
            uneven = bool(np.any(np.abs(real - step) > spacing_tolerance * step))
            report["uneven_spacing"] = uneven
            if uneven and not missing:
                issues.append("uneven slice spacing")
    report["issues"] = issues
    report["passed"] = not issues
    return report


def main() -> int:
    inp = Path(os.environ.get("JIP_INPUT_DIR", "/input"))
    out = Path(os.environ.get("JIP_OUTPUT_DIR", "/output"))
    params = json.loads(Path(os.environ.get("JIP_PARAMS", "/params.json")).read_text())
    tol = float(params.get("spacing_tolerance", 0.1))
    min_slices = int(params.get("min_slices", 3))
    for folder in sorted(p for p in inp.iterdir() if p.is_dir()):
        report = check_series(folder, tol, min_slices)
        (out / f"{folder.name}.json").write_text(json.dumps(report, indent=2))
        verdict = "passed" if report["passed"] else "; ".join(report["issues"])
        print(f"{folder.name}: {report['num_instances']} instances, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
