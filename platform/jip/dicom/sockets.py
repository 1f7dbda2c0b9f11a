"""Nagle off on every DICOM connection JIP holds.

pynetdicom leaves TCP_NODELAY unset. A C-STORE is a small command PDU followed by data
PDUs; with Nagle on, the small writes wait for the peer's delayed ACK and every
sub-operation stalls ~40 ms (measured: 25 vs 80+ instances/s on a C-MOVE). dcmtk and
Orthanc get the same via ``TCP_NODELAY=1`` in their environment.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

log = logging.getLogger(__name__)


def set_nodelay(assoc: Any) -> None:
    """Best effort: an association whose socket is already gone is left alone."""
    try:
        sock = assoc.dul.socket.socket
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError) as exc:
        log.debug("TCP_NODELAY not set: %s", exc)


def handle_conn_open(event: Any) -> None:
    """EVT_CONN_OPEN handler for the listener: every accepted connection."""
    set_nodelay(event.assoc)


def keep_alive(assoc: Any) -> None:
    """Restart the association's network (idle) timer. pynetdicom restarts it only when
    a PDU arrives, and a C-MOVE or C-FIND requester sends none while we answer: a long
    answer would otherwise end in an A-ABORT ("Network timeout reached") right after
    its final response. Called per sub-operation / answer."""
    try:
        assoc.dul._idle_timer.restart()
    except AttributeError as exc:
        log.debug("idle timer not restarted: %s", exc)
