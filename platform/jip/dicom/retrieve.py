"""C-MOVE and C-GET SCP: send stored instances named by unique keys.

Patient Root and Study Root models at PATIENT/STUDY/SERIES/IMAGE level. Each matched
instance goes out as a C-STORE sub-operation carrying the stored bytes as received
(``jip.dicom.stored``); pynetdicom sends the Pending responses with the remaining /
completed / failed / warning counts and the final Success, Warning (0xB000) or Failure
(0xA702) response with the Failed SOP Instance UID List.

Statuses of our own: unknown move destination (neither a key nor, for exactly one
peer, the AE title of one in ``settings.peers``) 0xA801; a
known one that cannot be used (down, refusing, another AE title) 0xA702 with every
instance failed and the reason as Error Comment; an
identifier that names nothing (no or wrong level, missing key of the level, wildcards)
is refused before any sub-operation as "unable to process" (0xC514 move / 0xC413 get:
the statuses pynetdicom answers for a handler that refuses before its first yield); no match is
Success with zero sub-operations; a C-CANCEL stops before the next sub-operation (0xFE00).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import AE, evt
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from jip.dicom.retrieve_keys import (
    PATIENT_ROOT,
    STUDY_ROOT,
    InstanceRef,
    find_instances,
    parse_identifier,
)
from jip.dicom.scu import AssociationFailed, associate, find_peer
from jip.dicom.sockets import handle_conn_open, keep_alive
from jip.dicom.storage_classes import is_storage
from jip.dicom.stored import (
    StoredInstance,
    failed_placeholder,
    install_on_requestor_ae,
    install_raw_store,
)
from jip.errors import JIPError
from jip.runtime import Runtime

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCEL = 0xFE00
UNABLE_TO_PERFORM_SUBOPERATIONS = 0xA702
MAX_SUBOPERATIONS = 65535  # the counts are US
MAX_CONTEXTS = 128  # presentation context IDs are odd numbers 1..255

_MODELS: dict[str, str] = {
    PatientRootQueryRetrieveInformationModelMove: PATIENT_ROOT,
    PatientRootQueryRetrieveInformationModelGet: PATIENT_ROOT,
    StudyRootQueryRetrieveInformationModelMove: STUDY_ROOT,
    StudyRootQueryRetrieveInformationModelGet: STUDY_ROOT,
}
_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian)


def configure_retrieve(ae: AE) -> None:
    """Support the four retrieve models, let C-GET requestors take the Storage SCP role,
    and make this AE's C-MOVE sub-associations send stored bytes unchanged."""
    for uid in _MODELS:
        ae.add_supported_context(uid)
    for cx in ae.supported_contexts:
        if cx.abstract_syntax and _is_storage(cx.abstract_syntax):
            # pynetdicom accepts in the acceptor's order: prefer Explicit VR Little
            # Endian, what most stored objects are in, so a C-GET requestor that offers
            # several uncompressed syntaxes gets the stored bytes without conversion
            cx.transfer_syntax = sorted(cx.transfer_syntax, key=_preference)
            ae.add_supported_context(
                cx.abstract_syntax, cx.transfer_syntax, scu_role=True, scp_role=True
            )
    install_on_requestor_ae(ae)


def handler_bindings(runtime: Runtime) -> list[tuple[Any, ...]]:
    return [
        (evt.EVT_C_MOVE, handle_move, [runtime]),
        (evt.EVT_C_GET, handle_get, [runtime]),
        (evt.EVT_CONN_OPEN, handle_conn_open),  # Nagle off on accepted connections
    ]


def handle_move(event: Any, runtime: Runtime) -> Iterator[Any]:
    """Yields the destination, the number of sub-operations, then (status, dataset)."""
    destination = str(event.move_destination or "").strip()
    peer = find_peer(runtime.settings.peers, destination)
    calling = _calling(event)
    if peer is None:
        log.warning("C-MOVE from %s to unknown destination %r", calling, destination)
        yield None, None  # pynetdicom answers 0xA801 (move destination unknown)
        return
    refs = _match(event, runtime)  # raises -> 0xC514, before any association
    log.info("C-MOVE %s -> %s: %d instances", calling, destination, len(refs))
    if not refs:
        yield peer.host, peer.port  # pynetdicom answers Success without associating
        yield 0
        return
    # associate here, not in pynetdicom, which answers any failure as 0xA801 (unknown)
    try:
        sub = associate(
            event.assoc.ae, peer.host, peer.port, peer.ae_title,
            contexts=presentation_contexts(refs),
            max_pdu=runtime.settings.max_pdu_size,
            move_originator=event.assoc.requestor.ae_title,  # see install_on_requestor_ae
        )
    except AssociationFailed as exc:
        log.warning("C-MOVE from %s: %s", calling, exc.message)
        yield peer.host, peer.port, {"association": _NoAssociation()}
        yield len(refs)
        yield _unusable(destination, exc.why), _failed_list(refs)
        return
    yield peer.host, peer.port, {"association": sub}
    yield from _suboperations(event, runtime, refs)


class _NoAssociation:
    """Stands in for the sub-association that could not be made, so that pynetdicom
    takes our failure status (with the failed count) instead of answering 0xA801."""

    is_established = True

    def release(self) -> None:
        pass


def _unusable(destination: str, why: str) -> Dataset:
    status = Dataset()
    status.Status = UNABLE_TO_PERFORM_SUBOPERATIONS
    status.ErrorComment = f"{destination} {why}".split(" (")[0][:64]
    return status


def _failed_list(refs: list[InstanceRef]) -> Dataset:
    ds = Dataset()
    ds.FailedSOPInstanceUIDList = [r.sop_instance_uid for r in refs]
    return ds


def handle_get(event: Any, runtime: Runtime) -> Iterator[Any]:
    """Yields the number of sub-operations, then (status, dataset)."""
    install_raw_store(event.assoc)
    refs = _match(event, runtime)
    log.info("C-GET from %s: %d instances", _calling(event), len(refs))
    yield from _suboperations(event, runtime, refs)


def presentation_contexts(refs: list[InstanceRef]) -> list[PresentationContext]:
    """One context per (SOP class, stored transfer syntax) holding only that syntax, so
    an acceptor cannot pick another one and force a conversion; then, for SOP classes
    stored uncompressed, one context offering every uncompressed syntax as a fallback."""
    pairs = sorted({(r.sop_class_uid, r.transfer_syntax_uid) for r in refs})
    exact = [_context(sop_class, [ts]) for sop_class, ts in pairs]
    fallback = [
        _context(sop_class, list(_UNCOMPRESSED))
        for sop_class in sorted({sc for sc, ts in pairs if UID(ts) in _UNCOMPRESSED})
    ]
    contexts = (exact + fallback)[:MAX_CONTEXTS]
    if len(exact) > MAX_CONTEXTS:
        log.warning("more than %d SOP class/transfer syntax pairs; some will fail", MAX_CONTEXTS)
    return contexts


def _context(sop_class: str, syntaxes: list[str]) -> PresentationContext:
    cx = PresentationContext()
    cx.abstract_syntax = UID(sop_class)
    cx.transfer_syntax = [UID(s) for s in syntaxes]  # type: ignore[misc]
    return cx


def _match(event: Any, runtime: Runtime) -> list[InstanceRef]:
    model = _MODELS.get(str(event.request.AffectedSOPClassUID))
    if model is None:
        raise JIPError(f"unsupported retrieve model {event.request.AffectedSOPClassUID}")
    try:
        keys = parse_identifier(event.identifier, model)
    except JIPError as exc:
        log.warning("retrieve identifier refused: %s", exc.message)
        raise
    except Exception as exc:
        log.warning("retrieve identifier does not decode: %s", exc)
        raise
    with runtime.sessions() as session:
        refs = find_instances(session, keys)
    if len(refs) > MAX_SUBOPERATIONS:
        raise JIPError(f"{len(refs)} matches exceed {MAX_SUBOPERATIONS} sub-operations")
    return refs


def _suboperations(event: Any, runtime: Runtime, refs: list[InstanceRef]) -> Iterator[Any]:
    yield len(refs)
    for ref in refs:
        keep_alive(event.assoc)  # the previous sub-operation has just ended
        if event.is_cancelled:
            log.info("retrieve cancelled by %s", _calling(event))
            yield CANCEL, None
            return
        yield PENDING, _load(runtime, ref)
    keep_alive(event.assoc)  # the last one too: pynetdicom sends the final response next


def _load(runtime: Runtime, ref: InstanceRef) -> Any:
    try:
        return StoredInstance(
            runtime.store.get(ref.object_key),
            sop_instance_uid=ref.sop_instance_uid,
            sop_class_uid=ref.sop_class_uid,
        )
    except JIPError as exc:
        log.error("cannot load %s for retrieve: %s", ref.sop_instance_uid, exc.message)
    except Exception:
        log.exception("cannot load %s for retrieve", ref.sop_instance_uid)
    return failed_placeholder(ref.sop_instance_uid)


def _preference(ts: str | bytes) -> int:
    return 0 if ts == ExplicitVRLittleEndian else 1


def _is_storage(uid: str) -> bool:
    return is_storage(uid)


def _calling(event: Any) -> str:
    try:
        return str(event.assoc.requestor.ae_title)
    except Exception:
        return "?"
