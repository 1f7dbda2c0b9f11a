"""Synthetic DICOM SEG over a synthetic series (``jip.synthetic``), built by highdicom,
for tests, demos and screenshots of the viewer's overlays."""

from __future__ import annotations

from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

_CATEGORY = Code("123037004", "SCT", "Anatomical Structure")
_TYPES = {
    "Body": Code("38266002", "SCT", "Entire body"),
    "Lung": Code("39607008", "SCT", "Lung"),
    "Lesion": Code("52988006", "SCT", "Lesion"),
}
_OTHER = Code("85756007", "SCT", "Tissue")


def make_segmentation(
    source: Sequence[Dataset],
    masks: dict[str, np.ndarray],
    *,
    colors: dict[str, str] | None = None,
    description: str = "Synthetic segmentation",
    series_number: int = 1001,
    omit_empty_frames: bool = True,
) -> hd.seg.Segmentation:
    """A BINARY SEG: ``masks`` maps segment labels (segment numbers in order) to boolean
    arrays ``(len(source), rows, cols)``; ``colors`` maps labels to colour names or
    ``#rrggbb`` (stored as RecommendedDisplayCIELabValue)."""
    algo = hd.AlgorithmIdentificationSequence(
        name="jip-synthetic", version="1", family=Code("123109", "DCM", "Manual Processing")
    )
    descriptions = []
    for number, label in enumerate(masks, start=1):
        color = (colors or {}).get(label)
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=label,
                segmented_property_category=_CATEGORY,
                segmented_property_type=_TYPES.get(label, _OTHER),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=algo,
                display_color=hd.color.CIELabColor.from_string(color) if color else None,
            )
        )
    pixels = np.stack([m.astype(np.uint8) for m in masks.values()], axis=-1)
    return hd.seg.Segmentation(
        source_images=list(source),
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="JIP",
        manufacturer_model_name="synthetic",
        software_versions="1",
        device_serial_number="jip-synthetic",
        series_description=description,
        omit_empty_frames=omit_empty_frames,
    )


def phantom_masks(source: Sequence[Dataset]) -> dict[str, np.ndarray]:
    """Body, lungs and the lesion of ``jip.synthetic``'s phantom, from its pixel values."""
    hu = np.stack([np.frombuffer(ds.PixelData, np.int16).reshape(ds.Rows, ds.Columns)
                   for ds in source])  # fmt: skip
    return {"Body": hu > -900, "Lung": hu == -800, "Lesion": hu == 300}
