"""The storage fast path: which associations it takes, that it stores exactly what
pynetdicom's path stores, and that it speaks the protocol with odd peers."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from pydicom.uid import UID
from pynetdicom.dsutils import create_file_meta, encode_file_meta
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    MaximumLengthNotification,
    SCP_SCU_RoleSelectionNegotiation,
)
from pynetdicom.presentation import build_context

from jip.dicom.server import build_ae
from jip.dicom.storage_association import file_meta
from jip.dicom.storage_fast_path import StorageFastPath
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import object_files, start_jip, tool_env
from tests.dimse.conftest import listening, make_settings
from tests.proof import pdus

CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"


def _rq(
    *syntaxes: str,
    called: str = "JIP",
    calling: str = "SCU",
    extra: list | None = None,
    max_pdu: int = 16384,
) -> bytes:
    prim = A_ASSOCIATE()
    prim.application_context_name = UID("1.2.840.10008.3.1.1.1")
    prim.calling_ae_title = calling
    prim.called_ae_title = called
    contexts = []
    for i, syntax in enumerate(syntaxes):
        cx = build_context(syntax)
        cx.context_id = 2 * i + 1
        contexts.append(cx)
    prim.presentation_context_definition_list = contexts
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = max_pdu
    prim.user_information = [max_length, *(extra or [])]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(prim)
    return bytes(pdu.encode())


def test_only_plain_storage_associations_take_the_fast_path(tmp_path: Path) -> None:
    runtime = Runtime(make_settings(tmp_path, allowed_calling_aets=["SCU", "OTHER"]))
    try:
        fast = StorageFastPath(build_ae(runtime), runtime, max_pdu_read=1 << 20)
        plan = fast.plan(_rq(CT, "1.2.840.10008.1.1"))
        assert plan is not None and plan.calling_ae == "SCU" and plan.peer_max_pdu == 16384
        assert {cx.abstract_syntax for cx in plan.contexts.values()} == {CT, "1.2.840.10008.1.1"}
        # everything else goes to pynetdicom, which answers it as before
        assert fast.plan(_rq(CT, STUDY_FIND)) is None  # query contexts
        role = SCP_SCU_RoleSelectionNegotiation()
        role.sop_class_uid = UID(CT)
        role.scu_role, role.scp_role = False, True
        assert fast.plan(_rq(STUDY_GET, CT, extra=[role])) is None  # C-GET with roles
        assert fast.plan(_rq(CT, extra=[role])) is None  # any extended negotiation
        assert fast.plan(_rq(CT, called="NOTJIP")) is None  # pynetdicom rejects it
        assert fast.plan(_rq(CT, calling="STRANGER")) is None
        assert fast.plan(b"\x01\x00\x00\x00\x00\x10garbage") is None
        # the same request bytes again: the same answer, negotiated only once
        assert fast.plan(_rq(CT, "1.2.840.10008.1.1")) is plan
        assert fast.plan(_rq(CT, calling="STRANGER")) is None
        # more different requests than are remembered: each answered by its own bytes
        for n in range(150):
            calling = "SCU" if n % 2 else "OTHER"
            called = "JIP" if n % 3 else "NOTJIP"
            got = fast.plan(_rq(CT, calling=calling, called=called, max_pdu=20000 + n))
            assert (got is not None) == bool(n % 3)
            assert got is None or (got.calling_ae, got.peer_max_pdu) == (calling, 20000 + n)
    finally:
        runtime.close()


def test_fast_and_pynetdicom_paths_store_the_same_bytes(tmp_path: Path) -> None:
    files = write_series(SeriesSpec(slices=6, size=32), tmp_path / "series")
    keys = []
    variants = {
        "worker-processes": {},
        "listener-threads": {"JIP_DICOM_STORE_PROCESSES": "false"},
        "pynetdicom": {"JIP_DICOM_FAST_STORE": "false"},
    }
    for name, env in variants.items():
        jip = start_jip(tmp_path / f"data-{name}", extra_env=env)
        try:
            r = subprocess.run(
                [
                    shutil.which("storescu") or "storescu",
                    "-aec",
                    "JIP",
                    "127.0.0.1",
                    str(jip.dicom_port),
                    *map(str, files),
                ],
                env=tool_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stderr
            stored = sorted(p.name for p in object_files(jip.data_dir))
            assert len(stored) == len(files)
            keys.append(stored)
        finally:
            jip.stop()
    assert keys[0] == keys[1] == keys[2]  # content-addressed: identical bytes, identical keys


def test_response_fragmented_for_a_peer_with_a_tiny_maximum_pdu(tmp_path: Path) -> None:
    with (
        listening(make_settings(tmp_path)) as jip,
        socket.create_connection(("127.0.0.1", jip.port), timeout=10) as sock,
    ):
        sock.sendall(pdus.associate_rq(max_pdu=40))
        got = pdus.read_pdu(sock)
        assert got is not None and got[0] == pdus.ASSOCIATE_AC
        sock.sendall(pdus.p_data(1, pdus.c_echo_rq(message_id=9), command=True))
        command = b""
        while True:
            got = pdus.read_pdu(sock)
            assert got is not None and got[0] == pdus.P_DATA
            assert len(got[1]) <= 40
            control = got[1][5]
            command += got[1][6:]
            if control & 0x02:
                break
        assert pdus.status_of(b"\x00" * 6 + command) == 0x0000
        sock.sendall(pdus.pdu(0x05, b"\x00" * 4))
        got = pdus.read_pdu(sock)
        assert got is not None and got[0] == pdus.RELEASE_RP


def test_store_on_the_verification_context_is_refused_not_crashed(tmp_path: Path) -> None:
    with (
        listening(make_settings(tmp_path)) as jip,
        socket.create_connection(("127.0.0.1", jip.port), timeout=10) as sock,
    ):
        sock.sendall(pdus.associate_rq())
        assert pdus.read_pdu(sock) is not None
        sock.sendall(pdus.p_data(1, pdus.c_store_rq(CT, "1.2.3.4"), command=True))
        sock.sendall(pdus.p_data(1, b"\x08\x00\x18\x00\x02\x00\x00\x001\x00", command=False))
        got = pdus.read_pdu(sock)
        assert got is not None and got[0] == pdus.P_DATA
        assert pdus.status_of(got[1]) == 0x0122  # SOP class not supported
        assert not object_files(jip.runtime.settings.data_dir)


def test_file_meta_is_byte_identical_to_pynetdicoms() -> None:
    for sop_class, instance, syntax in [
        (CT, "1.2.3.4", "1.2.840.10008.1.2.1"),
        (CT, "1.2.3.45", "1.2.840.10008.1.2"),
        ("1.2.840.10008.5.1.4.1.1.7", "1.2.826.0.1.3680043.8.498.1", "1.2.840.10008.1.2.4.50"),
    ]:
        meta = create_file_meta(
            sop_class_uid=UID(sop_class),
            sop_instance_uid=UID(instance),
            transfer_syntax=UID(syntax),
        )
        assert file_meta(sop_class, instance, syntax) == encode_file_meta(meta)


def test_one_association_limit_over_both_paths(tmp_path: Path) -> None:
    """Two storage associations (fast path) fill a limit of two: a query association,
    which pynetdicom would serve, is rejected too."""
    with listening(make_settings(tmp_path, max_associations=2)) as jip:
        held = []
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", jip.port), timeout=10)
            sock.sendall(pdus.associate_rq())
            got = pdus.read_pdu(sock)
            assert got is not None and got[0] == pdus.ASSOCIATE_AC
            held.append(sock)
        try:
            with socket.create_connection(("127.0.0.1", jip.port), timeout=10) as sock:
                sock.sendall(pdus.associate_rq(contexts=[(1, STUDY_FIND, [pdus.IMPLICIT_LE])]))
                got = pdus.read_pdu(sock)
                assert got is not None and got[0] == pdus.ASSOCIATE_RJ
                assert got[1][1:] == bytes([0x02, 0x03, 0x02])  # transient, local limit
        finally:
            for sock in held:
                sock.close()
