"""JIP as a DICOM client (SCU): echo and send.

``send`` transmits each file's bytes exactly as they are on disk (no decode, no
re-encode), proposing for every (SOP class, transfer syntax) pair found in the files'
meta headers its own transfer syntax, so compressed objects travel unchanged.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from jip.config import DicomPeer
from jip.dicom.sockets import handle_conn_open
from jip.errors import JIPError

_MAX_CONTEXTS = 127  # 128 minus the slot kept for Verification
_OK_STATUSES = {0x0000, 0xB000, 0xB006, 0xB007}  # success and warnings


class AssociationFailed(JIPError):
    """The peer did not accept an association (down, wrong AE title, refused)."""

    def __init__(self, message: str, *, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message  # the reason alone, without the peer's address


def find_peer(peers: dict[str, DicomPeer], name: str) -> DicomPeer | None:
    """The peer ``name`` names: its key in ``settings.peers``, else its AE title when
    exactly one peer has that title."""
    if name in peers:
        return peers[name]
    by_title = [p for p in peers.values() if p.ae_title == name]
    return by_title[0] if len(by_title) == 1 else None


def associate(ae: AE, host: str, port: int, called: str, **kwargs: Any) -> Association:
    """``ae.associate`` (``kwargs`` passed on), or ``AssociationFailed`` saying why in
    words: rejected (and the peer's reason), nothing listening, an unknown host."""
    try:
        # Nagle off from the first PDU: each small C-STORE otherwise waits ~40 ms for
        # the peer's delayed ACK (send managed 16-19 small files/s)
        handlers = [(evt.EVT_CONN_OPEN, handle_conn_open), *kwargs.pop("evt_handlers", [])]
        assoc = ae.associate(host, port, ae_title=called, evt_handlers=handlers, **kwargs)
    except OSError as exc:  # the host name does not resolve
        raise AssociationFailed(
            f"association with {called}@{host}:{port} failed: {_os_reason(exc)}"
        ) from exc
    if not assoc.is_established:
        if assoc.is_rejected:
            why = f"rejected: {_rejection(assoc)}"
        else:
            why = _unreachable(host, port) or ("aborted" if assoc.is_aborted else "failed")
        raise AssociationFailed(f"association with {called}@{host}:{port} {why}", why=why)
    return assoc


def _rejection(assoc: Association) -> str:
    """The peer's A-ASSOCIATE-RJ reason in words (a wrong AE title says so)."""
    primitive = assoc.acceptor.primitive
    reason = getattr(primitive, "reason_str", None) if primitive is not None else None
    return str(reason) if reason else "no reason given"


def _unreachable(host: str, port: int) -> str | None:
    """Why nothing answered on ``host:port``, or ``None`` if something does (then the
    peer itself ended the association)."""
    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as exc:
        return f"failed: {_os_reason(exc)}"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the peer running on that port?)"
    if isinstance(exc, TimeoutError):
        return "no answer within 5 s (host down or port filtered?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return str(exc.strerror or exc)


def echo(host: str, port: int, *, called: str, calling: str = "JIP") -> int:
    """C-ECHO; returns the status (0 = success); raises ``AssociationFailed``."""
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 10
    ae.add_requested_context(Verification)
    assoc = associate(ae, host, port, called)
    try:
        status = assoc.send_c_echo()
        return int(status.Status) if "Status" in status else 0xFFFF
    finally:
        assoc.release()


@dataclass
class SendReport:
    sent: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not DICOM files
    failed: list[tuple[str, str]] = field(default_factory=list)  # peer refused / error


@dataclass(frozen=True)
class _Item:
    path: Path
    sop_class: str
    transfer_syntax: str


def _scan(files: list[Path], report: SendReport) -> list[_Item]:
    """Read only the file meta of each file; non-DICOM files are reported and dropped."""
    items = []
    for f in files:
        try:
            meta = read_file_meta_info(f)
            items.append(_Item(f, str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID)))
        except OSError as exc:  # not a question of content: the file could not be read
            report.failed.append((str(f), f"cannot read: {exc.strerror or exc}"))
        except InvalidDicomError:
            report.skipped.append((str(f), "not a DICOM Part 10 file"))
        except Exception:  # pydicom raises many types on a cut or garbled file meta
            report.skipped.append((str(f), "truncated or malformed DICOM file"))
    return items


def _batches(items: list[_Item]) -> Iterator[tuple[list[tuple[str, str]], list[_Item]]]:
    """Group items so that each association needs at most ``_MAX_CONTEXTS`` contexts."""
    contexts: list[tuple[str, str]] = []
    batch: list[_Item] = []
    for item in items:
        pair = (item.sop_class, item.transfer_syntax)
        if pair not in contexts:
            if len(contexts) == _MAX_CONTEXTS:
                yield contexts, batch
                contexts, batch = [], []
            contexts.append(pair)
        batch.append(item)
    if batch:
        yield contexts, batch


def send(
    files: list[Path],
    host: str,
    port: int,
    *,
    called: str,
    calling: str = "JIP",
    console: Console | None = None,
) -> SendReport:
    """C-STORE ``files`` to a peer; raises ``AssociationFailed`` if it will not talk."""
    report = SendReport()
    items = _scan(files, report)
    old_chunked = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True  # send the file's bytes as they are
    try:
        with Progress(
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("sending", total=len(items))
            for contexts, batch in _batches(items):
                ae = AE(ae_title=calling)
                for sop_class, ts in contexts:
                    ae.add_requested_context(sop_class, [ts])
                assoc = associate(ae, host, port, called)
                try:
                    for item in batch:
                        _send_one(assoc, item, report)
                        progress.advance(task)
                finally:
                    if assoc.is_established:
                        assoc.release()
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = old_chunked
    return report


def _send_one(assoc: Association, item: _Item, report: SendReport) -> None:
    if not assoc.is_established:
        report.failed.append((str(item.path), "association lost"))
        return
    try:
        rsp = assoc.send_c_store(item.path)
    except (ValueError, AttributeError, OSError) as exc:
        # no accepted context for this SOP class / transfer syntax, or unreadable file
        report.failed.append((str(item.path), str(exc).splitlines()[0]))
        return
    status = int(rsp.Status) if "Status" in rsp else None
    if status in _OK_STATUSES:
        report.sent += 1
    elif status is None:
        report.failed.append((str(item.path), "no response from peer"))
    else:
        report.failed.append((str(item.path), f"peer answered status 0x{status:04X}"))


def send_files(
    files: list[Path],
    host: str,
    port: int,
    *,
    called: str,
    calling: str = "JIP",
    console: Console | None = None,
) -> tuple[int, int]:
    """C-STORE each file; returns (succeeded, failed or skipped)."""
    r = send(files, host, port, called=called, calling=calling, console=console)
    return r.sent, len(r.failed) + len(r.skipped)
