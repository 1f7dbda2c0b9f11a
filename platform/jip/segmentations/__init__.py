"""DICOM SEG overlays: which segmentations reference a series, their segments and masks."""
