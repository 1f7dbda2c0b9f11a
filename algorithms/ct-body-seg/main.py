"""ct-body-seg: body (and lung) masks by HU thresholds and morphology -> DICOM SEG.

Contract: reads $JIP_INPUT_DIR/<SeriesInstanceUID>/*.dcm (one CT series), writes
$JIP_OUTPUT_DIR/seg/<SeriesInstanceUID>.dcm, parameters from $JIP_PARAMS.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid
from scipy import ndimage

VERSION = "1.0.0"
CATEGORY = Code("123037004", "SCT", "Anatomical Structure")
BODY = Code("38266002", "SCT", "Entire body")
LUNG = Code("39607008", "SCT", "Lung")


def load_ct(folder: Path) -> tuple[list[pydicom.Dataset], np.ndarray]:
    slices = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    iop = np.array(slices[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
    hu = np.stack(
        [d.pixel_array * float(d.get("RescaleSlope", 1)) + float(d.get("RescaleIntercept", 0))
         for d in slices]
    ).astype(np.float32)
    return slices, hu


def largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    return labels == (int(np.argmax(sizes)) + 1)


def segment(hu: np.ndarray, params: dict) -> dict[str, np.ndarray]:
    body = hu > float(params.get("body_threshold_hu", -500))
    # fill first: thin walls around air-filled lungs must not open up to the outside
    body = np.stack([ndimage.binary_fill_holes(s) for s in body])
    body = ndimage.binary_opening(body, structure=np.ones((1, 3, 3), bool))
    body = largest_component(body)
    masks = {"Body": body}
    if params.get("include_lungs", True):
        lung = (hu < float(params.get("lung_threshold_hu", -400))) & body
        lung = ndimage.binary_opening(lung, structure=np.ones((1, 3, 3), bool))
        labels, n = ndimage.label(lung)
        keep = np.zeros_like(lung)
        min_vox = int(params.get("min_component_voxels", 20))
        for i, size in enumerate(ndimage.sum(lung, labels, range(1, n + 1)), start=1):
            if size >= min_vox:
                keep |= labels == i
        masks["Lung"] = keep
    return masks


def write_seg(slices: list[pydicom.Dataset], masks: dict[str, np.ndarray], out: Path) -> int:
    algo = hd.AlgorithmIdentificationSequence(
        name="jip-ct-body-seg", version=VERSION,
        family=Code("threshold-morphology", "99JIP", "Threshold and morphology"),
    )
    descriptions = []
    arrays = []
    for number, (label, mask) in enumerate(masks.items(), start=1):
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=label,
                segmented_property_category=CATEGORY,
                segmented_property_type=BODY if label == "Body" else LUNG,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=algo,
            )
        )
        arrays.append(mask.astype(np.uint8))
    pixel_array = np.stack(arrays, axis=-1)  # (frames, rows, cols, segments)
    seg = hd.seg.Segmentation(
        source_images=slices,
        pixel_array=pixel_array,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=int(slices[0].get("SeriesNumber", 1) or 1) + 1000,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="JIP",
        manufacturer_model_name="ct-body-seg",
        software_versions=VERSION,
        device_serial_number="jip-1",
        series_description="Body segmentation (JIP)",
        omit_empty_frames=False,
    )
    seg.save_as(out)
    return int(pixel_array.sum())


def main() -> int:
    inp = Path(os.environ.get("JIP_INPUT_DIR", "/input"))
    out = Path(os.environ.get("JIP_OUTPUT_DIR", "/output"))
    params = json.loads(Path(os.environ.get("JIP_PARAMS", "/params.json")).read_text())
    (out / "seg").mkdir(exist_ok=True)
    for folder in sorted(p for p in inp.iterdir() if p.is_dir()):
        slices, hu = load_ct(folder)
        masks = segment(hu, params)
        n = write_seg(slices, masks, out / "seg" / f"{folder.name}.dcm")
        sizes = ", ".join(f"{k} {int(v.sum())} voxels" for k, v in masks.items())
        print(f"{folder.name}: {len(slices)} slices, {sizes} ({n} set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
