"""Synthetic but valid DICOM series (real pixel data, fresh UIDs) for tests, demos and
benchmarks: a CT-like phantom of body, lungs and a bright lesion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid


@dataclass
class SeriesSpec:
    modality: str = "CT"
    slices: int = 10
    size: int = 64
    patient_id: str = "SYN0001"
    patient_name: str = "Synthetic^Patient"
    patient_sex: str = "O"
    birth_date: str = "19700101"
    study_date: str = "20240115"
    study_uid: str = ""
    series_number: int = 1
    description: str = "Synthetic CT"
    body_part: str = "CHEST"
    manufacturer: str = "JIP"
    model: str = "Phantom"
    institution: str = "JIP Test Hospital"
    slice_thickness: float = 2.5


def phantom_slice(size: int, z: float) -> np.ndarray:
    """HU-like values: air -1000, body 40, lungs -800, a lesion of 300 near the centre."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    img = np.full((size, size), -1000, np.int16)
    img[(xx / 0.45) ** 2 + (yy / 0.35) ** 2 < 1] = 40
    for cx in (-0.18, 0.18):
        img[((xx - cx) / 0.12) ** 2 + (yy / 0.22) ** 2 < 1] = -800
    r = 0.06 * max(0.0, 1 - abs(z - 0.5) * 2)
    img[(xx - 0.18) ** 2 + yy**2 < r**2] = 300
    return img


def make_series(spec: SeriesSpec) -> Iterator[Dataset]:
    study_uid = spec.study_uid or generate_uid()
    series_uid = generate_uid()
    frame_uid = generate_uid()
    sop_class = CTImageStorage if spec.modality == "CT" else MRImageStorage
    for i in range(spec.slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.PatientID = spec.patient_id
        ds.PatientName = spec.patient_name
        ds.PatientSex = spec.patient_sex
        ds.PatientBirthDate = spec.birth_date
        ds.StudyDate = spec.study_date
        ds.SeriesDate = spec.study_date
        ds.StudyTime = "101500"
        ds.AccessionNumber = f"ACC{spec.patient_id[-6:]}"
        ds.StudyID = "1"
        ds.StudyDescription = f"Synthetic {spec.body_part.title()} study"
        ds.ReferringPhysicianName = "Doctor^Ref"
        ds.Modality = spec.modality
        ds.SeriesNumber = spec.series_number
        ds.SeriesDescription = spec.description
        ds.BodyPartExamined = spec.body_part
        ds.Manufacturer = spec.manufacturer
        ds.ManufacturerModelName = spec.model
        ds.InstitutionName = spec.institution
        ds.SliceThickness = spec.slice_thickness
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(i) * spec.slice_thickness]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceLocation = float(i) * spec.slice_thickness
        ds.Rows = ds.Columns = spec.size
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        z = (i + 0.5) / spec.slices
        ds.PixelData = phantom_slice(spec.size, z).tobytes()
        yield ds


def write_series(spec: SeriesSpec, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in make_series(spec):
        p = folder / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(p, enforce_file_format=True)
        paths.append(p)
    return paths


def dataset_bytes(ds: Dataset) -> bytes:
    from io import BytesIO

    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
