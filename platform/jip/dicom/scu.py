"""JIP as a DICOM client (SCU): echo and send."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pynetdicom import AE, StoragePresentationContexts
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from rich.console import Console
from rich.progress import Progress

from jip.errors import JIPError


def echo(host: str, port: int, *, called: str, calling: str = "JIP") -> int:
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    assoc = ae.associate(host, port, ae_title=called)
    if not assoc.is_established:
        raise JIPError(f"association with {called}@{host}:{port} failed")
    try:
        status = assoc.send_c_echo()
        return int(status.Status) if status else 0xFFFF
    finally:
        assoc.release()


def send_files(
    files: list[Path],
    host: str,
    port: int,
    *,
    called: str,
    calling: str = "JIP",
    console: Console | None = None,
) -> tuple[int, int]:
    """C-STORE each file over one association; returns (succeeded, failed)."""
    ae = AE(ae_title=calling)
    ae.requested_contexts = StoragePresentationContexts[:120]
    assoc = ae.associate(host, port, ae_title=called)
    if not assoc.is_established:
        raise JIPError(f"association with {called}@{host}:{port} failed")
    ok = failed = 0
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("sending", total=len(files))
            for f in files:
                try:
                    ds = pydicom.dcmread(f)
                    status = assoc.send_c_store(ds)
                    if status and int(status.Status) in (0x0000, 0xB000, 0xB006, 0xB007):
                        ok += 1
                    else:
                        failed += 1
                except Exception:
                    failed += 1
                progress.advance(task)
    finally:
        assoc.release()
    return ok, failed
