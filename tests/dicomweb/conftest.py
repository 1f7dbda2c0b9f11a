"""One real ``jip up`` per module, filled by dcmtk's storescu: a small synthetic CT
series plus pydicom's compressed test files (distinct SOP Instance UIDs only)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file

from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, start_jip, tool_env

STORESCU = shutil.which("storescu") or "storescu"

# file -> storescu flag that proposes its own transfer syntax, so it is sent unconverted
COMPRESSED = {
    "JPEG2000.dcm": "-xw",  # JPEG 2000 (lossy-capable), MONOCHROME2
    "emri_small_jpeg_2k_lossless.dcm": "-xv",  # JPEG 2000 lossless, 10 frames
    "SC_rgb_jpeg_dcmtk.dcm": "-xy",  # JPEG baseline, YBR_FULL colour
    "SC_rgb_rle.dcm": "-xr",  # RLE lossless, RGB
}


def storescu(port: int, *files: Path, flag: str = "-R") -> None:
    r = subprocess.run(
        [STORESCU, flag, "-aec", "JIP", "127.0.0.1", str(port), *map(str, files)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


_REFERENCE_SCRIPT = r"""
set -e
ip link set lo up
storescp +xa +B -od "$OUT" -aet REF 11112 & scp=$!
for i in $(seq 50); do echoscu -aec REF 127.0.0.1 11112 2>/dev/null && break; sleep 0.1; done
while [ $# -gt 0 ]; do storescu "$1" -aec REF 127.0.0.1 11112 "$2"; shift 2; done
kill $scp
"""


def reference_receive(files: dict[Path, str], out: Path) -> dict[str, bytes]:
    """What storescu really puts on the wire, per SOP Instance UID: dcmtk's storescp in
    bit-preserving mode (+B) records it. storescu re-encodes some datasets (e.g. explicit
    sequence lengths), so the original file is not the reference. Runs in a private
    network namespace, so the reference listener is reachable from nowhere else."""
    out.mkdir(parents=True, exist_ok=True)
    args = [a for path, flag in files.items() for a in (flag, str(path))]
    r = subprocess.run(
        ["unshare", "-n", "sh", "-c", _REFERENCE_SCRIPT, "sh", *args],
        env={**tool_env(), "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    received = {}
    for p in out.iterdir():
        received[str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)] = (
            dataset_bytes_of(p)
        )
    assert len(received) == len(files)
    return received


@dataclass
class Site:
    jip: JipProcess
    client: DICOMwebClient
    ct: list[Path]
    compressed: dict[str, Path]
    on_the_wire: dict[str, bytes]  # SOP Instance UID -> dataset bytes storescu sent
    http: httpx.Client

    @property
    def dicomweb(self) -> str:
        return f"{self.jip.url}/dicomweb"


def dataset_bytes_of(path: Path) -> bytes:
    """The encoded dataset after the file meta group: what storescu puts on the wire."""
    raw = path.read_bytes()
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    meta_end = 132 + 12 + int(ds.file_meta.FileMetaInformationGroupLength)
    return raw[meta_end:]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dicomweb")
    jip = start_jip(tmp / "data")
    try:
        ct = write_series(SeriesSpec(slices=5, size=32), tmp / "ct")
        storescu(jip.dicom_port, *ct)
        compressed = {n: Path(str(get_testdata_file(n))) for n in COMPRESSED}
        for name, path in compressed.items():
            storescu(jip.dicom_port, path, flag=COMPRESSED[name])
        client = DICOMwebClient(url=f"{jip.url}/dicomweb")
        sent = {ct[2]: "-R", **{p: COMPRESSED[n] for n, p in compressed.items()}}
        wire = reference_receive(sent, tmp / "reference")
        with httpx.Client(timeout=60) as http:
            yield Site(jip, client, ct, compressed, wire, http)
    finally:
        jip.stop()
