"""Shared pieces of the proof suites: SCUs that record exactly which C-STOREs got a
success status, a reader of the JIP index file, and byte comparison of stored objects."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from tests import conftest
from tests.conftest import JipProcess


def dataset_part(data_or_path: bytes | Path) -> bytes:
    """The bytes after the Part 10 preamble and file meta: what travels in a C-STORE."""
    from io import BytesIO

    data = data_or_path if isinstance(data_or_path, bytes) else data_or_path.read_bytes()
    fp = BytesIO(data)
    read_preamble(fp, False)
    _read_file_meta_info(fp)
    return data[fp.tell() :]


def sop_uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


@dataclass
class SendLog:
    """What one sender saw: UIDs acknowledged with success, and any failure."""

    acked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_series(
    port: int, files: Iterable[Path], log: SendLog, ae_title: str = "JIP", timeout: float = 30
) -> None:
    """One association sending ``files`` in order; records each success as it arrives.
    Stops at the first failure (e.g. the server was killed)."""
    ae = AE(ae_title="PROOF")
    # only the files' own transfer syntax, so the bytes on the wire are the file's bytes
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    try:
        assoc = ae.associate("127.0.0.1", port, ae_title=ae_title)
    except Exception as exc:  # pragma: no cover - reported through log.error
        log.error = f"associate: {exc}"
        return
    if not assoc.is_established:
        log.error = "association not established"
        return
    try:
        for path in files:
            uid = sop_uid(path)
            try:
                status = assoc.send_c_store(path)
            except Exception as exc:
                log.error = f"{type(exc).__name__}: {exc}"
                return
            if status and getattr(status, "Status", None) == 0x0000:
                with log.lock:
                    log.acked.append(uid)
            else:
                with log.lock:
                    log.failed.append(uid)
                if not assoc.is_established:
                    log.error = "association lost"
                    return
    finally:
        if assoc.is_established:
            assoc.release()


def index_rows(jip: JipProcess) -> dict[str, str]:
    """``{sop_instance_uid: object_key}`` read straight from the SQLite index."""
    db = jip.data_dir / "index.sqlite3"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return dict(con.execute("SELECT sop_instance_uid, object_key FROM instances"))
    finally:
        con.close()


def object_path(jip: JipProcess, key: str) -> Path:
    return next(p for p in conftest.object_files(jip.data_dir) if p.name == key)


def object_files(jip: JipProcess) -> list[Path]:
    return conftest.object_files(jip.data_dir)
