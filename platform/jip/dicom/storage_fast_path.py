"""Storage associations served without pynetdicom's polling reactors.

pynetdicom spends about 8 ms of CPU per received instance before a handler runs (two
threads per association polling queues every millisecond, an event and several objects
per PDU): more than JIP's whole ingest, and a hard ceiling near 120 instances/s on two
cores. Storage senders (modalities, PACS exports, storescu) only need a tight loop:
read a PDU, collect the fragments, ingest, answer. This module is that loop, one
blocking thread per association.

The A-ASSOCIATE-RQ is only *peeked* at: an association takes this path only if it
proposes nothing but storage and verification contexts, carries no extended
negotiation (roles, user identity, asynchronous operations, SOP class extended) and
would be accepted. Everything else - query/retrieve, C-GET's role selection,
rejections, malformed requests - reaches pynetdicom byte for byte, as before.
Negotiation and the A-ASSOCIATE-AC come from pynetdicom's own code and PDU classes.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from pydicom.uid import UID
from pynetdicom import (
    AE,
    PYNETDICOM_IMPLEMENTATION_UID,
    PYNETDICOM_IMPLEMENTATION_VERSION,
)
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import negotiate_as_acceptor

from jip.dicom import command_set as cmd
from jip.dicom import upper_layer as ul
from jip.dicom.handlers import CANNOT_UNDERSTAND, SOP_CLASS_NOT_SUPPORTED, store_status
from jip.dicom.storage_classes import STORAGE_SOP_CLASSES
from jip.runtime import Runtime

log = logging.getLogger(__name__)

VERIFICATION = "1.2.840.10008.1.1"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
FAST_SYNTAXES = frozenset({*STORAGE_SOP_CLASSES, VERIFICATION})
_PLAIN_USER_ITEMS = (
    MaximumLengthNotification,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
)
_MAX_DATASET = 1 << 30  # one instance; a peer streaming past this is cut off
_PEEK_POLL = 0.002


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


class StorageFastPath:
    """Admits connections to the fast path (or hands them on) and serves them."""

    def __init__(self, ae: AE, runtime: Runtime, *, max_pdu_read: int) -> None:
        self.ae = ae
        self.runtime = runtime
        self.max_pdu_read = max_pdu_read
        self._active = 0
        self._lock = threading.Lock()

    # -- admission -------------------------------------------------------------------

    def handle(self, sock: socket.socket) -> bool:
        """Serve ``sock`` if it is a plain storage association; ``False`` hands it to
        pynetdicom untouched. Closes the socket itself when it returns ``True``."""
        timeout = sock.gettimeout()
        try:
            rq = self._peek_associate_rq(sock)
        except (TimeoutError, ul.PeerClosed, OSError) as exc:
            log.info("connection dropped before A-ASSOCIATE-RQ: %s", exc)
            _close(sock)
            return True
        if rq is None:
            sock.settimeout(timeout)  # as pynetdicom's acceptor set it up
            return False
        plan = self.plan(rq)
        with self._lock:  # one limit over both paths
            full = self._active + self._pynetdicom_acceptors() >= self.ae.maximum_associations
            if plan is not None and not full:
                self._active += 1
        if full:
            log.warning("association rejected: limit of %d reached", self.ae.maximum_associations)
            with contextlib.suppress(OSError, ul.PeerClosed):
                ul.recv_exact(sock, len(rq), time.monotonic() + 5)
                sock.sendall(ul.associate_rj(0x02, 0x03, 0x02))  # transient, local limit
            _close(sock)
            return True
        if plan is None:
            sock.settimeout(timeout)
            return False
        try:
            StorageAssociation(sock, self.runtime, plan, self.ae, self.max_pdu_read).run()
        except (OSError, ul.PeerClosed) as exc:
            log.info("storage association ended: %s", exc)
        except Exception:
            log.exception("storage association failed; aborting it")
            _send_quietly(sock, ul.abort())
        finally:
            with self._lock:
                self._active -= 1
            _close(sock)
        return True

    def _pynetdicom_acceptors(self) -> int:
        return sum(1 for a in self.ae.active_associations if a.is_acceptor)

    def _peek_associate_rq(self, sock: socket.socket) -> bytes | None:
        """The whole A-ASSOCIATE-RQ PDU, left unread in the socket; ``None`` if the
        connection opens with anything else (pynetdicom answers that)."""
        timeout = self.ae.acse_timeout or 30.0
        deadline = time.monotonic() + timeout
        need = 6
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete A-ASSOCIATE-RQ in time")
            sock.settimeout(left)
            data = sock.recv(need, socket.MSG_PEEK)
            if not data:
                raise ul.PeerClosed("closed before A-ASSOCIATE-RQ")
            if need == 6 and len(data) == 6:
                if data[0] != ul.ASSOCIATE_RQ:
                    return None
                length = int.from_bytes(data[2:6], "big")
                if length > self.max_pdu_read:
                    return None
                need = 6 + length
                continue
            if len(data) >= need:
                return data
            time.sleep(_PEEK_POLL)  # part of it is here: wait for the rest

    def plan(self, rq_pdu: bytes) -> Plan | None:
        """Negotiate as pynetdicom would, if this association belongs here."""
        try:
            pdu = A_ASSOCIATE_RQ()
            pdu.decode(rq_pdu)
            rq = pdu.to_primitive()
        except Exception:
            return None  # malformed: let pynetdicom reject it
        if not all(isinstance(item, _PLAIN_USER_ITEMS) for item in rq.user_information):
            return None
        proposed = rq.presentation_context_definition_list
        if not proposed or any(str(cx.abstract_syntax) not in FAST_SYNTAXES for cx in proposed):
            return None
        if str(rq.application_context_name) != APPLICATION_CONTEXT:
            return None
        if not self._would_accept(rq):
            return None
        results, _ = negotiate_as_acceptor(proposed, self.ae.supported_contexts, None)
        contexts = {
            int(cx.context_id): Context(str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
            for cx in results
            if cx.result == 0x00 and cx.context_id is not None
        }
        peer_max = next(
            (
                int(item.maximum_length_received or 0)
                for item in rq.user_information
                if isinstance(item, MaximumLengthNotification)
            ),
            0,
        )
        return Plan(
            rq_length=len(rq_pdu),
            calling_ae=str(rq.calling_ae_title).strip(),
            contexts=contexts,
            peer_max_pdu=peer_max,
            ac_pdu=self._ac_pdu(rq, results),
        )

    def _would_accept(self, rq: A_ASSOCIATE) -> bool:
        """The AE-title checks of pynetdicom's acceptor (acse._negotiate_as_acceptor)."""
        allowed = [s.strip() for s in self.ae.require_calling_aet]
        if allowed and rq.calling_ae_title not in allowed:
            return False
        return not (self.ae.require_called_aet and rq.called_ae_title != self.ae.ae_title.strip())

    def _ac_pdu(self, rq: A_ASSOCIATE, results: list[Any]) -> bytes:
        ac = A_ASSOCIATE()
        ac.application_context_name = UID(APPLICATION_CONTEXT)
        ac.calling_ae_title = rq.calling_ae_title
        ac.called_ae_title = rq.called_ae_title
        ac.result = 0x00
        ac.result_source = 0x01
        ac.presentation_context_definition_results_list = results
        max_length = MaximumLengthNotification()
        max_length.maximum_length_received = self.ae.maximum_pdu_size
        impl_uid = ImplementationClassUIDNotification()
        impl_uid.implementation_class_uid = UID(self.ae.implementation_class_uid)
        items: list[Any] = [max_length, impl_uid]
        if self.ae.implementation_version_name:
            version = ImplementationVersionNameNotification()
            version.implementation_version_name = self.ae.implementation_version_name
            items.append(version)
        ac.user_information = items
        pdu = A_ASSOCIATE_AC()
        pdu.from_primitive(ac)
        return bytes(pdu.encode())


class StorageAssociation:
    """One established storage association: C-STORE and C-ECHO until release."""

    def __init__(
        self, sock: socket.socket, runtime: Runtime, plan: Plan, ae: AE, max_pdu_read: int
    ) -> None:
        self.sock = sock
        self.runtime = runtime
        self.plan = plan
        self.ae = ae
        self.max_pdu_read = max_pdu_read
        self._command_parts: list[bytes] = []
        self._command: cmd.Command | None = None
        self._context_id: int | None = None
        self._dataset_parts: list[memoryview] = []
        self._dataset_size = 0

    def run(self) -> None:
        sock = self.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ul.use_blocking(sock, self.ae.network_timeout)
        ul.recv_exact(sock, self.plan.rq_length, time.monotonic() + 5)  # consume the RQ
        sock.sendall(self.plan.ac_pdu)
        log.debug(
            "storage association accepted",
            extra={"calling_ae": self.plan.calling_ae, "contexts": len(self.plan.contexts)},
        )
        timeout = self.ae.network_timeout
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
            _send_quietly(sock, ul.abort(exc.reason))
        except TimeoutError as exc:
            log.info(
                "storage association timed out: %s", exc, extra={"calling_ae": self.plan.calling_ae}
            )
            _send_quietly(sock, ul.abort())

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
            self.runtime,
            data,
            sop_class=command.sop_class_uid,
            sop_instance=command.sop_instance_uid,
            calling_ae=self.plan.calling_ae,
        )


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


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
