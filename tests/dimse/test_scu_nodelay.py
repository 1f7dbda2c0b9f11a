"""JIP's own DICOM client sets TCP_NODELAY: with Nagle on, each small C-STORE waited
for the peer's delayed ACK and ``jip send`` managed 16-19 small files a second."""

from __future__ import annotations

import socket

from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from jip.dicom.scu import associate
from tests.conftest import free_port


def test_the_client_socket_has_nagle_off() -> None:
    port = free_port()
    scp = AE(ae_title="PEER")
    scp.add_supported_context(Verification)
    server = scp.start_server(("127.0.0.1", port), block=False)
    try:
        ae = AE(ae_title="JIPCLI")
        ae.add_requested_context(Verification)
        assoc = associate(ae, "127.0.0.1", port, "PEER")
        try:
            sock = assoc.dul.socket.socket
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert assoc.send_c_echo().Status == 0
        finally:
            assoc.release()
    finally:
        server.shutdown()
