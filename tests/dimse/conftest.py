"""Fixtures for the DIMSE retrieve / AE policy / PACS pull suites: a small corpus, a real
dcmtk ``storescp`` as move destination, a ``jip up`` that knows it as a peer, Orthanc."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from jip.config import Settings
from jip.dicom.server import start_dicom_server
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, free_port, object_files, start_jip, tool_env
from tests.orthanc import OrthancServer, start_orthanc

STORESCP_AET = "STORESCP"
# calling AE titles ``jip_loaded`` admits: dcmtk's defaults plus the movescu tests' one
ALLOWED = ["STORESCU", "ECHOSCU", "GETSCU", "MOVER"]


def dataset_bytes(data: bytes) -> bytes:
    """The data set of a Part 10 object: everything after preamble and file meta."""
    from io import BytesIO

    from pydicom.filereader import _read_file_meta_info, read_preamble

    fp = BytesIO(data)
    read_preamble(fp, False)
    _read_file_meta_info(fp)
    return data[fp.tell() :]


def stored_objects(data_dir: Path) -> dict[str, bytes]:
    """SOP Instance UID -> data set bytes of every object in a filesystem store."""
    out = {}
    for f in object_files(data_dir):
        uid = str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        out[uid] = dataset_bytes(f.read_bytes())
    return out


@dataclass
class Corpus:
    """Two patients: P1 with one study of a CT and an MR series, P2 with one CT series,
    plus a JPEG 2000 object (its own patient) to prove compressed bytes pass through."""

    folder: Path
    files: dict[str, Path]  # SOP Instance UID -> file
    p1_study: str
    p1_series: list[str]
    p2_study: str
    j2k_uid: str

    def uids_of(self, **match: str) -> set[str]:
        out = set()
        for uid, f in self.files.items():
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            if all(str(ds.get(k, "")) == v for k, v in match.items()):
                out.add(uid)
        return out


def make_corpus(folder: Path) -> Corpus:
    study1 = pydicom.uid.generate_uid()
    a = write_series(
        SeriesSpec(slices=3, size=16, patient_id="DIMSEP1", study_uid=study1), folder / "a"
    )
    b = write_series(
        SeriesSpec(
            modality="MR", slices=2, size=16, patient_id="DIMSEP1", study_uid=study1,
            series_number=2, description="Synthetic MR",
        ),
        folder / "b",
    )
    c = write_series(SeriesSpec(slices=2, size=16, patient_id="DIMSEP2"), folder / "c")
    j2k = folder / "j2k.dcm"
    shutil.copy(str(get_testdata_file("JPEG2000.dcm")), j2k)
    files = {}
    for f in [*a, *b, *c, j2k]:
        files[str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)] = f
    fa, fb, fc = (pydicom.dcmread(p[0], stop_before_pixels=True) for p in (a, b, c))
    return Corpus(
        folder=folder,
        files=files,
        p1_study=study1,
        p1_series=[str(fa.SeriesInstanceUID), str(fb.SeriesInstanceUID)],
        p2_study=str(fc.StudyInstanceUID),
        j2k_uid=str(pydicom.dcmread(j2k, stop_before_pixels=True).SOPInstanceUID),
    )


# storescu's flag to propose a compressed transfer syntax as it is (no conversion)
_STORESCU_TS_FLAG = {
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.5": "-xr",
    "1.2.840.10008.1.2.4.50": "-xy",
}


def storescu(port: int, files: list[Path], aet: str = "JIP") -> None:
    """Load files with dcmtk storescu, each in its own transfer syntax (no conversion)."""
    by_ts: dict[str, list[Path]] = {}
    for f in files:
        ts = str(pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        by_ts.setdefault(ts, []).append(f)
    for ts, group in by_ts.items():
        flags = [_STORESCU_TS_FLAG[ts]] if ts in _STORESCU_TS_FLAG else []
        r = subprocess.run(
            ["storescu", *flags, "-aec", aet, "127.0.0.1", str(port), *map(str, group)],
            env=tool_env(), capture_output=True, text=True, timeout=120,
        )
        assert r.returncode == 0, r.stdout + r.stderr


@dataclass
class StoreSCP:
    proc: subprocess.Popen[bytes]
    port: int
    out: Path
    aet: str = STORESCP_AET

    def received(self) -> dict[str, bytes]:
        """SOP Instance UID -> data set bytes of every file received so far."""
        out = {}
        for f in self.out.iterdir():
            if f.is_file():
                data = f.read_bytes()
                out[str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)] = data
        return out

    def clear(self) -> None:
        for f in self.out.iterdir():
            f.unlink()

    def peer_json(self) -> dict[str, object]:
        return {"ae_title": self.aet, "host": "127.0.0.1", "port": self.port}


def start_storescp(out: Path) -> StoreSCP:
    """dcmtk storescp, bit-preserving, accepting every transfer syntax it knows."""
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["storescp", "+B", "+xa", "-aet", STORESCP_AET, "-od", str(out), str(port)],
        env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["echoscu", "-aec", STORESCP_AET, "127.0.0.1", str(port)],
            env=tool_env(), capture_output=True, timeout=10,
        )
        if r.returncode == 0:
            return StoreSCP(proc, port, out)
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("storescp did not start")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def storescp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreSCP]:
    scp = start_storescp(tmp_path_factory.mktemp("storescp"))
    yield scp
    scp.proc.terminate()
    scp.proc.wait(10)


@pytest.fixture
def received(storescp: StoreSCP) -> Iterator[StoreSCP]:
    """The module's storescp, emptied before the test."""
    storescp.clear()
    yield storescp


@pytest.fixture(scope="module")
def jip_loaded(
    tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, storescp: StoreSCP
) -> Iterator[JipProcess]:
    """``jip up`` holding the corpus, with storescp configured as peer STORESCP."""
    peers = {STORESCP_AET: storescp.peer_json()}
    env = {"JIP_PEERS": json.dumps(peers), "JIP_ALLOWED_CALLING_AETS": json.dumps(ALLOWED)}
    p = start_jip(tmp_path_factory.mktemp("jip") / "data", extra_env=env)
    try:
        storescu(p.dicom_port, list(corpus.files.values()))
        yield p
    finally:
        p.stop()


@dataclass
class Listener:
    """An in-process JIP DICOM listener (same code as ``jip up``) on a free port."""

    runtime: Runtime
    port: int
    ae_title: str


@contextmanager
def listening(settings: Settings) -> Iterator[Listener]:
    runtime = Runtime(settings)
    server = start_dicom_server(runtime)
    try:
        yield Listener(runtime, settings.dicom_port, settings.ae_title)
    finally:
        server.shutdown()
        runtime.close()


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp / "data",
        "http_port": free_port(),
        "dicom_port": free_port(),
        "series_quiet_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def ingest_files(runtime: Runtime, files: list[Path]) -> None:
    for f in files:
        runtime.ingestor.ingest(f.read_bytes())


@dataclass
class Site:
    orthanc: OrthancServer
    jip: JipProcess


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Iterator[Site]:
    """Orthanc (knows JIP as modality) loaded with the corpus, and a JIP that knows
    Orthanc as peer ORTHANC."""
    jip_port = free_port()
    orthanc = start_orthanc(
        tmp_path_factory.mktemp("orthanc"), modalities={"JIP": ("JIP", "127.0.0.1", jip_port)}
    )
    try:
        storescu(orthanc.dicom_port, list(corpus.files.values()), aet=orthanc.aet)
        assert orthanc.instance_count() == len(corpus.files)
        peers = {"ORTHANC": {"ae_title": orthanc.aet, "host": "127.0.0.1",
                             "port": orthanc.dicom_port}}
        jip = start_jip(tmp_path_factory.mktemp("jip") / "data", dicom_port=jip_port,
                        extra_env={"JIP_PEERS": json.dumps(peers)})
        try:
            yield Site(orthanc, jip)
        finally:
            jip.stop()
    finally:
        orthanc.stop()


@dataclass
class QRSite:
    """dcmtk dcmqrscp as site PACS (ignores optional keys such as ModalitiesInStudy),
    loaded with the corpus, and a JIP that knows it as peer QR."""

    qr: subprocess.Popen[bytes]
    qr_port: int
    jip: JipProcess


QR_AET = "QRSCP"


def start_dcmqrscp(folder: Path, jip_port: int) -> tuple[subprocess.Popen[bytes], int]:
    db = folder / "db"
    db.mkdir(parents=True)
    port = free_port()
    cfg = folder / "dcmqrscp.cfg"
    cfg.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\njip = (JIP, 127.0.0.1, {jip_port})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{QR_AET} {db} RW (200, 1024mb) ANY\nAETable END\n"
    )
    proc = subprocess.Popen(["dcmqrscp", "-c", str(cfg), str(port)], env=tool_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        r = subprocess.run(["echoscu", "-aec", QR_AET, "127.0.0.1", str(port)],
                           env=tool_env(), capture_output=True, timeout=10)
        if r.returncode == 0:
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("dcmqrscp did not start")


@pytest.fixture(scope="module")
def qr_site(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Iterator[QRSite]:
    jip_port = free_port()
    qr, qr_port = start_dcmqrscp(tmp_path_factory.mktemp("dcmqrscp"), jip_port)
    try:
        uncompressed = [f for uid, f in corpus.files.items() if uid != corpus.j2k_uid]
        storescu(qr_port, uncompressed, aet=QR_AET)
        peers = {"QR": {"ae_title": QR_AET, "host": "127.0.0.1", "port": qr_port}}
        jip = start_jip(tmp_path_factory.mktemp("jip") / "data", dicom_port=jip_port,
                        extra_env={"JIP_PEERS": json.dumps(peers)})
        try:
            yield QRSite(qr, qr_port, jip)
        finally:
            jip.stop()
    finally:
        qr.terminate()
        qr.wait(10)
