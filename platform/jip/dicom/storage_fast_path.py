"""Storage associations served without pynetdicom's polling reactors.

pynetdicom spends about 8 ms of CPU per received instance before a handler runs (two
threads per association polling queues every millisecond, an event and several objects
per PDU): more than JIP's whole ingest, and a hard ceiling near 120 instances/s on two
cores. Storage senders (modalities, PACS exports, storescu) only need a tight loop:
read a PDU, collect the fragments, ingest, answer. This module admits associations to
that loop (``storage_association``), which runs in a worker process of its own per
association (``storage_processes``, the default) or in the listener's thread.

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
import threading
import time
from typing import Any

from pydicom.uid import UID
from pynetdicom import AE
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import negotiate_as_acceptor

from jip.dicom import upper_layer as ul
from jip.dicom.storage_association import (
    VERIFICATION,
    Context,
    Plan,
    StorageAssociation,
    send_quietly,
)
from jip.dicom.storage_classes import STORAGE_SOP_CLASSES
from jip.dicom.storage_processes import StorageProcesses
from jip.runtime import Runtime

log = logging.getLogger(__name__)

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
FAST_SYNTAXES = frozenset({*STORAGE_SOP_CLASSES, VERIFICATION})
_PLAIN_USER_ITEMS = (
    MaximumLengthNotification,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
)
_PEEK_POLL = 0.002
_PLANS_KEPT = 64  # negotiated requests remembered


class StorageFastPath:
    """Admits connections to the fast path (or hands them on) and serves them."""

    def __init__(
        self,
        ae: AE,
        runtime: Runtime,
        *,
        max_pdu_read: int,
        processes: StorageProcesses | None = None,
    ) -> None:
        self.ae = ae
        self.runtime = runtime
        self.max_pdu_read = max_pdu_read
        self.processes = processes  # None: associations run in the listener's threads
        self._active = 0
        self._lock = threading.Lock()
        self._plans: dict[bytes, Plan | None] = {}

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
        freed = False

        def free_slot() -> None:  # once, as soon as the association is over
            nonlocal freed
            with self._lock:
                if not freed:
                    freed = True
                    self._active -= 1

        try:
            if self.processes is not None:
                self.processes.serve(sock, plan, on_end=free_slot)
            else:
                StorageAssociation(
                    sock,
                    lambda: self.runtime.ingestor,
                    plan,
                    network_timeout=self.ae.network_timeout,
                    max_pdu_read=self.max_pdu_read,
                ).serve()
        except Exception:  # no worker process (fork failed, say): the peer must know
            log.exception("storage association could not be served; aborting it")
            send_quietly(sock, ul.abort())
        finally:
            free_slot()
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
        """Negotiate as pynetdicom would, if this association belongs here. A sender
        proposes the same A-ASSOCIATE-RQ, byte for byte, association after association
        (storescu: 128 contexts, 9.6 kB), and the answer depends only on those bytes and
        this listener's fixed settings: it is worked out once (10-20 ms of the site's
        CPU, which four associations arriving together would queue for)."""
        if rq_pdu in self._plans:
            return self._plans[rq_pdu]
        plan = self._negotiate(rq_pdu)
        if len(self._plans) >= _PLANS_KEPT:
            self._plans.clear()  # senders with ever new requests only cost a negotiation
        self._plans[rq_pdu] = plan
        return plan

    def _negotiate(self, rq_pdu: bytes) -> Plan | None:
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


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
