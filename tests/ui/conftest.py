"""Fixtures for the browse API and UI: a small, varied archive ingested for real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series

#: (patient, sex, birth, study date, modality, body part, manufacturer, model, thickness, desc)
ARCHIVE = [
    ("P1", "F", "19600101", "20200310", "CT", "CHEST", "Siemens", "Force", 1.0, "Lung 1mm"),
    ("P1", "F", "19600101", "20200310", "CT", "CHEST", "Siemens", "Force", 5.0, "Lung 5mm"),
    ("P1", "F", "19600101", "20230601", "CT", "ABDOMEN", "GE", "Revolution", 2.5, "Abdomen"),
    ("P2", "M", "19900101", "20210704", "MR", "HEAD", "Philips", "Ingenia", 3.0, "T1 axial"),
    ("P2", "M", "19900101", "20210704", "MR", "HEAD", "Philips", "Ingenia", 3.0, "T2 flair"),
    ("P3", "M", "19500101", "20220101", "CT", "HEAD", "GE", "Revolution", 5.0, "Head plain"),
]


@dataclass
class Archive:
    series_uids: dict[str, str]  # description -> series UID
    study_uids: dict[str, str]  # description -> study UID


def ingest_archive(runtime: Runtime, slices: int = 2) -> Archive:
    studies: dict[tuple[str, str], str] = {}
    out = Archive({}, {})
    for n, (pid, sex, birth, date, mod, body, manu, model, thick, desc) in enumerate(ARCHIVE):
        spec = SeriesSpec(
            modality=mod,
            slices=slices,
            size=16,
            patient_id=pid,
            patient_name=f"Test^{pid}",
            patient_sex=sex,
            birth_date=birth,
            study_date=date,
            study_uid=studies.get((pid, date), ""),
            series_number=n + 1,
            description=desc,
            body_part=body,
            manufacturer=manu,
            model=model,
            slice_thickness=thick,
        )
        for ds in make_series(spec):
            runtime.ingestor.ingest(dataset_bytes(ds))
            studies[(pid, date)] = str(ds.StudyInstanceUID)
            out.series_uids[desc] = str(ds.SeriesInstanceUID)
            out.study_uids[desc] = str(ds.StudyInstanceUID)
    return out


@pytest.fixture
def archive(runtime: Runtime) -> Archive:
    return ingest_archive(runtime)


@pytest.fixture
def client(runtime: Runtime, archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c
