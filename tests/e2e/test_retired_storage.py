"""Retired storage SOP classes (older ultrasound machines still send them) are stored
like any other: dcmtk storescu -> a real ``jip up``, over the storage fast path and
over pynetdicom, then found by QIDO-RS and fetched back with dcmtk getscu."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from jip.synthetic import SeriesSpec, make_series
from tests.conftest import start_jip, tool_env
from tests.dimse.conftest import dataset_bytes, stored_objects

pytestmark = pytest.mark.slow

US_RETIRED = "1.2.840.10008.5.1.4.1.1.6"  # Ultrasound Image Storage (Retired)
US_MULTIFRAME_RETIRED = "1.2.840.10008.5.1.4.1.1.3"  # Ultrasound Multi-frame (Retired)


def _retired_us(sop_class: str, frames: int, study_uid: str) -> Dataset:
    """A small ultrasound image under a retired SOP class, built with pydicom."""
    spec = SeriesSpec(modality="US", slices=1, size=16, body_part="ABDOMEN", study_uid=study_uid)
    ds = next(make_series(spec))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    for name in ("SliceThickness", "SliceLocation", "ImagePositionPatient"):
        delattr(ds, name)
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.PixelData = ds.PixelData * frames
    return ds


@pytest.fixture
def retired_files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    study_uid = generate_uid()
    for sop_class, frames in ((US_RETIRED, 1), (US_MULTIFRAME_RETIRED, 3)):
        ds = _retired_us(sop_class, frames, study_uid)
        path = tmp_path / "send" / f"{ds.SOPInstanceUID}.dcm"
        path.parent.mkdir(exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        out[sop_class] = path
    return out


@pytest.mark.parametrize("fast_store", ["true", "false"], ids=["fast-path", "pynetdicom"])
def test_storescu_retired_ultrasound_is_stored_indexed_and_retrievable(
    tmp_path: Path, retired_files: dict[str, Path], fast_store: str
) -> None:
    jip = start_jip(tmp_path / "jip", {"JIP_DICOM_FAST_STORE": fast_store})
    try:
        files = list(retired_files.values())
        r = subprocess.run(
            ["storescu", "-R", "-aec", "JIP", "127.0.0.1", str(jip.dicom_port),
             *map(str, files)],
            env=tool_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout + r.stderr
        stored = stored_objects(jip.data_dir)
        sent = {str(pydicom.dcmread(f).SOPInstanceUID): f for f in files}
        assert set(stored) == set(sent)
        for uid, f in sent.items():  # stored exactly as received
            assert stored[uid] == dataset_bytes(f.read_bytes())

        for sop_class in retired_files:
            found = httpx.get(
                f"{jip.url}/dicomweb/instances", params={"SOPClassUID": sop_class}, timeout=30
            )
            assert found.status_code == 200, found.text
            (only,) = found.json()
            assert only["00080016"]["Value"] == [sop_class]

        # C-GET: JIP sends them back on the requestor's association (Storage SCP role)
        out = tmp_path / "got"
        out.mkdir()
        study = str(pydicom.dcmread(files[0]).StudyInstanceUID)
        r = subprocess.run(
            ["getscu", "-S", "+B", "-aec", "JIP", "-od", str(out), "-k",
             "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
             "127.0.0.1", str(jip.dicom_port)],
            env=tool_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        got = {str(pydicom.dcmread(p).SOPInstanceUID) for p in out.iterdir()}
        assert set(sent) <= got, r.stdout + r.stderr
    finally:
        jip.stop()
