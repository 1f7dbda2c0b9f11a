"""One ``jip up`` for the query suites, loaded once with dcmtk ``storescu``: three patients,
four series, nine instances. Queries do not change it, so the tests share it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest

from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, start_jip, tool_env

SERIES = [  # (patient id, name, study date, modality, slices, study key)
    ("PID1", "Doe^John", "20240115", "CT", 3, "A"),
    ("PID1", "Doe^John", "20240115", "MR", 2, "A"),
    ("PID2", "Doe^Jane", "20240301", "CT", 2, "B"),
    ("PID3", "Smith^Anna", "20231231", "MR", 2, "C"),
]
MAX_RESULTS = 4  # small server maximum, so paging with offset is exercised


@dataclass
class Loaded:
    jip: JipProcess
    studies: dict[str, str] = field(default_factory=dict)  # key -> Study Instance UID
    series: dict[str, list[str]] = field(default_factory=dict)  # study UID -> series UIDs
    instances: dict[str, list[str]] = field(default_factory=dict)  # series UID -> SOP UIDs


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = Path(tmp_path_factory.mktemp("query"))
    jip = start_jip(root / "data", extra_env={"JIP_QIDO_MAX_RESULTS": str(MAX_RESULTS)})
    out = Loaded(jip)
    try:
        files: list[Path] = []
        for i, (pid, name, date, modality, slices, key) in enumerate(SERIES):
            spec = SeriesSpec(
                modality=modality,
                slices=slices,
                size=8,
                patient_id=pid,
                patient_name=name,
                study_date=date,
                study_uid=out.studies.get(key, ""),
                series_number=i + 1,
                description=f"{modality} series {i + 1}",
            )
            paths = write_series(spec, root / f"s{i}")
            ds = pydicom.dcmread(paths[0])
            out.studies[key] = ds.StudyInstanceUID
            out.series.setdefault(ds.StudyInstanceUID, []).append(ds.SeriesInstanceUID)
            out.instances[ds.SeriesInstanceUID] = [pydicom.dcmread(p).SOPInstanceUID for p in paths]
            files += paths
        r = subprocess.run(
            ["storescu", "-aec", "JIP", "127.0.0.1", str(jip.dicom_port), *map(str, files)],
            env=tool_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        yield out
    finally:
        jip.stop()
