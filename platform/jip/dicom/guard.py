"""A DICOM listener that hostile peers cannot pin down.

pynetdicom's acceptor blocks in ``recv`` on a PDU whose bytes never come (a peer that
sends a header and stalls holds a thread forever) and reads whatever PDU length the peer
claims (a 4 GiB length field grows a buffer for as long as the peer streams). This
server gives every accepted socket the network timeout and refuses to read a PDU longer
than a bound derived from our maximum PDU size; either ends the connection the same way
a dropped peer does (pynetdicom's Evt17), so other associations are unaffected.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

log = logging.getLogger(__name__)

_ASSOCIATE_SLACK = 1 << 20  # A-ASSOCIATE-RQ with many presentation contexts fits in this
_UNLIMITED_PDU_CAP = 64 << 20  # when max_pdu_size is 0 ("no limit")


def pdu_read_limit(max_pdu_size: int) -> int:
    """Longest PDU body we agree to read (a conformant peer stays below our maximum)."""
    if max_pdu_size <= 0:
        return _UNLIMITED_PDU_CAP
    return max(max_pdu_size, _ASSOCIATE_SLACK) + 1024


class BoundedAssociationSocket(AssociationSocket):
    """An ``AssociationSocket`` whose reads fail past ``max_read`` bytes or when one read
    (a PDU header or body) takes longer than ``read_timeout`` in total, so a peer
    dribbling a byte now and then (slowloris) cannot keep a read going."""

    max_read = _UNLIMITED_PDU_CAP
    read_timeout: float | None = None

    def recv(self, nr_bytes: int) -> bytearray:
        if nr_bytes > self.max_read:
            raise OSError(f"peer announced a PDU of {nr_bytes} bytes (limit {self.max_read})")
        sock = self.socket
        if sock is None or self.read_timeout is None:
            return super().recv(nr_bytes)
        deadline = time.monotonic() + self.read_timeout
        out = bytearray()
        while len(out) < nr_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"peer too slow: {len(out)} of {nr_bytes} bytes in time")
            sock.settimeout(left)
            chunk = sock.recv(min(nr_bytes - len(out), 1 << 16))
            if not chunk:
                break  # closed: pynetdicom reports the short read as Evt17
            out += chunk
        return out


class GuardedRequestHandler(RequestHandler):
    def _create_association(self) -> Association:
        assoc = super()._create_association()
        sock = assoc.dul.socket
        if sock is not None and type(sock) is AssociationSocket:
            sock.__class__ = self.server.socket_class  # type: ignore[attr-defined]
        _abort_on_crash(assoc)
        return assoc


def _abort_on_crash(assoc: Association) -> None:
    """pynetdicom's acceptor thread can die on requests it fails to negotiate (e.g. a
    presentation context without transfer syntax raises IndexError) and then leaves the
    connection open forever; abort the association and close the socket instead."""
    run = assoc.run

    def guarded_run() -> None:
        try:
            run()
        except Exception as exc:
            log.warning("association aborted after a malformed request: %r", exc)
            with contextlib.suppress(Exception):
                assoc.abort()
            with contextlib.suppress(Exception):
                assoc.kill()
            if assoc.dul.socket is not None:
                with contextlib.suppress(Exception):
                    assoc.dul.socket.close()

    assoc.run = guarded_run  # type: ignore[method-assign]


class GuardedAssociationServer(ThreadedAssociationServer):
    def __init__(
        self, *args: Any, max_pdu_read: int, recv_timeout: float | None, **kwargs: Any
    ) -> None:
        self.recv_timeout = recv_timeout
        self.socket_class = type(
            "BoundedAssociationSocket",
            (BoundedAssociationSocket,),
            {"max_read": max_pdu_read, "read_timeout": recv_timeout},
        )
        kwargs["request_handler"] = GuardedRequestHandler
        # takes a connection before pynetdicom does: True = served (and closed) by it
        self.connection_hook: Callable[[socket.socket], bool] | None = None
        self.shutdown_hooks: list[Callable[[], None]] = []  # run after the listener stops
        super().__init__(*args, **kwargs)

    def shutdown(self) -> None:
        super().shutdown()
        for hook in self.shutdown_hooks:
            hook()

    def finish_request(self, request: Any, client_address: Any) -> None:
        hook = self.connection_hook
        if hook is not None and hook(request):
            return
        super().finish_request(request, client_address)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        client, address = super().get_request()
        client.settimeout(self.recv_timeout)
        return client, address


def start_guarded_server(
    ae: AE,
    address: tuple[str, int],
    evt_handlers: list[Any],
    *,
    max_pdu_size: int,
    recv_timeout: float | None,
) -> ThreadedAssociationServer:
    """``ae.start_server(address, block=False, ...)`` with the guards above."""
    server = ae.make_server(
        address,
        evt_handlers=evt_handlers,
        server_class=GuardedAssociationServer,
        max_pdu_read=pdu_read_limit(max_pdu_size),
        recv_timeout=recv_timeout,
    )
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    thread = threading.Thread(
        target=server.serve_forever, name=f"AcceptorServer@{stamp}", daemon=True
    )
    thread.start()
    ae._servers.append(server)
    return server
