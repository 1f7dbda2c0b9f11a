"""One established storage association, served by a tight blocking loop.

Read a PDU, collect the fragments, ingest, answer: C-STORE and C-ECHO until release.
``storage_fast_path`` admits the association and sends the A-ASSOCIATE-AC; this loop
runs either in the listener's thread or in a storage worker process of its own
(``storage_processes``), so it needs nothing but the socket, the negotiated plan and
something that makes an ingestor (on the first C-STORE: an association of C-ECHOs
needs none).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

from jip.dicom import command_set as cmd
from jip.dicom import upper_layer as ul
from jip.dicom.handlers import CANNOT_UNDERSTAND, SOP_CLASS_NOT_SUPPORTED, store_status
from jip.ingest import Ingestor

log = logging.getLogger(__name__)

VERIFICATION = "1.2.840.10008.1.1"
_MAX_DATASET = 1 << 30  # one instance; a peer streaming past this is cut off


@dataclass(frozen=True, slots=True)
class Context:
    abstract_syntax: str
    transfer_syntax: str


@dataclass(slots=True)
class Plan:
    """An accepted storage association, before the A-ASSOCIATE-AC is sent."""

    rq_length: int
    calling_ae: str
    contexts: dict[int, Context]
    peer_max_pdu: int
    ac_pdu: bytes


class StorageAssociation:
    """One established storage association: C-STORE and C-ECHO until release."""

    def __init__(
        self,
        sock: socket.socket,
        ingestor: Callable[[], Ingestor],
        plan: Plan,
        *,
        network_timeout: float | None,
        max_pdu_read: int,
    ) -> None:
        self.sock = sock
        self._make_ingestor = ingestor
        self._ingestor: Ingestor | None = None
        self.plan = plan
        self.network_timeout = network_timeout
        self.max_pdu_read = max_pdu_read
        self._command_parts: list[bytes] = []
        self._command: cmd.Command | None = None
        self._context_id: int | None = None
        self._dataset_parts: list[memoryview] = []
        self._dataset_size = 0

    def serve(self) -> None:
        """Run the association to its end; a failure aborts it, never raises."""
        try:
            self.run()
        except (OSError, ul.PeerClosed) as exc:
            log.info("storage association ended: %s", exc)
        except Exception:
            log.exception("storage association failed; aborting it")
            send_quietly(self.sock, ul.abort())

    def run(self) -> None:
        sock = self.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ul.use_blocking(sock, self.network_timeout)
        ul.recv_exact(sock, self.plan.rq_length, time.monotonic() + 5)  # consume the RQ
        sock.sendall(self.plan.ac_pdu)
        log.debug(
            "storage association accepted",
            extra={"calling_ae": self.plan.calling_ae, "contexts": len(self.plan.contexts)},
        )
        timeout = self.network_timeout
        try:
            while True:
                kind, body = ul.read_pdu(
                    sock, max_length=self.max_pdu_read, idle_timeout=timeout, read_timeout=timeout
                )
                if kind == ul.P_DATA_TF:
                    self._on_p_data(body)
                elif kind == ul.RELEASE_RQ:
                    sock.sendall(ul.release_rp())
                    return
                elif kind == ul.ABORT:
                    return
                else:
                    raise ul.ProtocolError(
                        f"unexpected PDU type 0x{kind:02X}", ul.REASON_UNEXPECTED_PDU
                    )
        except ul.ProtocolError as exc:
            log.warning(
                "storage association aborted: %s", exc, extra={"calling_ae": self.plan.calling_ae}
            )
            send_quietly(sock, ul.abort(exc.reason))
        except TimeoutError as exc:
            log.info(
                "storage association timed out: %s", exc, extra={"calling_ae": self.plan.calling_ae}
            )
            send_quietly(sock, ul.abort())

    def _on_p_data(self, body: bytearray) -> None:
        for pdv in ul.iter_pdvs(body):
            if pdv.context_id not in self.plan.contexts:
                raise ul.ProtocolError(
                    f"PDV on presentation context {pdv.context_id}, not accepted"
                )
            if self._context_id is None:
                self._context_id = pdv.context_id
            elif pdv.context_id != self._context_id:
                raise ul.ProtocolError("message fragments on two presentation contexts")
            if pdv.is_command:
                self._on_command_fragment(pdv)
            else:
                self._on_dataset_fragment(pdv)

    def _on_command_fragment(self, pdv: ul.Pdv) -> None:
        if self._command is not None:
            raise ul.ProtocolError("command fragment inside a data set")
        self._command_parts.append(bytes(pdv.data))
        if sum(map(len, self._command_parts)) > cmd.MAX_COMMAND:
            raise ul.ProtocolError("command set longer than any real one")
        if not pdv.is_last:
            return
        command = cmd.decode(b"".join(self._command_parts))
        self._command_parts = []
        if command.has_dataset:
            self._command = command
        else:
            self._dispatch(command, None)

    def _on_dataset_fragment(self, pdv: ul.Pdv) -> None:
        if self._command is None:
            raise ul.ProtocolError("data set fragment without its command")
        self._dataset_size += len(pdv.data)
        if self._dataset_size > _MAX_DATASET:
            raise ul.ProtocolError(f"data set larger than {_MAX_DATASET} bytes")
        self._dataset_parts.append(pdv.data)
        if pdv.is_last:
            command, parts = self._command, self._dataset_parts
            self._command, self._dataset_parts, self._dataset_size = None, [], 0
            self._dispatch(command, parts)

    def _dispatch(self, command: cmd.Command, dataset: list[memoryview] | None) -> None:
        context_id = self._context_id
        assert context_id is not None
        self._context_id = None
        context = self.plan.contexts[context_id]
        if command.field == cmd.C_ECHO_RQ:
            status = 0x0000
            rsp = cmd.response(cmd.C_ECHO_RSP, command.message_id, status, command.sop_class_uid)
        elif command.field == cmd.C_STORE_RQ:
            status = self._store(command, context, dataset)
            rsp = cmd.response(
                cmd.C_STORE_RSP,
                command.message_id,
                status,
                command.sop_class_uid,
                command.sop_instance_uid,
            )
        else:
            raise ul.ProtocolError(f"DIMSE command 0x{command.field:04X} on a storage association")
        self.sock.sendall(
            ul.p_data_pdus(context_id, rsp, command=True, max_pdu=self.plan.peer_max_pdu)
        )

    def _store(
        self, command: cmd.Command, context: Context, dataset: list[memoryview] | None
    ) -> int:
        if context.abstract_syntax == VERIFICATION:
            return SOP_CLASS_NOT_SUPPORTED
        if dataset is None:
            return CANNOT_UNDERSTAND
        meta = file_meta(command.sop_class_uid, command.sop_instance_uid, context.transfer_syntax)
        data = b"".join([b"\x00" * 128, b"DICM", meta, *dataset])
        return store_status(
            self._ingestor_once(),
            data,
            sop_class=command.sop_class_uid,
            sop_instance=command.sop_instance_uid,
            calling_ae=self.plan.calling_ae,
        )

    def _ingestor_once(self) -> Ingestor:
        if self._ingestor is None:
            self._ingestor = self._make_ingestor()
        return self._ingestor


def file_meta(sop_class: str, sop_instance: str, transfer_syntax: str) -> bytes:
    """The File Meta Information group pynetdicom's ``Event.encoded_dataset`` writes
    (same elements, same bytes), encoded directly: pydicom's writer and pynetdicom's
    UID checks cost more than the rest of the protocol handling per instance."""
    body = b"".join(
        (
            _meta_element(0x0001, b"OB", b"\x00\x01"),
            _meta_element(0x0002, b"UI", cmd.padded(sop_class, b"\x00")),
            _meta_element(0x0003, b"UI", cmd.padded(sop_instance, b"\x00")),
            _meta_element(0x0010, b"UI", cmd.padded(transfer_syntax, b"\x00")),
            _meta_element(0x0012, b"UI", cmd.padded(PYNETDICOM_IMPLEMENTATION_UID, b"\x00")),
            _meta_element(0x0013, b"SH", cmd.padded(PYNETDICOM_IMPLEMENTATION_VERSION, b" ")),
        )
    )
    return _meta_element(0x0000, b"UL", struct.pack("<I", len(body))) + body


def _meta_element(element: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHI", 0x0002, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)
