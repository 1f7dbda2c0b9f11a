"""Send stored Part 10 bytes as C-STORE sub-operations exactly as they were received.

pynetdicom's C-MOVE/C-GET service runs the handler's generator and sends every yielded
``Dataset`` with ``Association.send_c_store``, which re-encodes it through pydicom (and
pydicom drops group lengths, pads odd values, ...). To keep the bytes as received, the
handlers yield a ``StoredInstance`` and the associations used for the sub-operations get
a ``send_c_store`` that puts the stored data set bytes on the wire unchanged whenever
the peer accepted the stored transfer syntax. Only if it did not, and the syntax is an
uncompressed one, is the instance decoded and converted by pynetdicom as usual.

A ``StoredInstance`` deliberately has no SOP Class UID element: were it ever handed to
pynetdicom's own ``send_c_store`` that raises and the sub-operation counts as failed,
so a stored object can never go out half-encoded.

``send_stored`` mirrors ``Association.send_c_store`` and so uses a few pynetdicom
internals (reactor checkpoint, DIMSE queue, status check): pynetdicom is pinned, and
``tests/dimse`` fail loudly if an upgrade changes them.
"""

from __future__ import annotations

import logging
import time
from io import BytesIO
from typing import Any, cast

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.uid import UID
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.presentation import PresentationContext

from jip.dicom.sockets import set_nodelay
from jip.errors import DicomError

log = logging.getLogger(__name__)

_INSTALLED = "_jip_raw_store"


class StoredInstance(Dataset):
    """One stored object: its file meta, its UID and the raw data set bytes."""

    def __init__(self, data: bytes, *, sop_instance_uid: str = "", sop_class_uid: str = "") -> None:
        """``sop_*`` come from the index (read from the data set itself); the file meta
        is only the fallback, as it may disagree with the data set."""
        super().__init__()
        fp = BytesIO(data)
        try:
            read_preamble(fp, False)
            meta = _read_file_meta_info(fp)
        except Exception as exc:
            raise DicomError(f"stored object has no readable file meta: {exc}") from exc
        for kw in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", "TransferSyntaxUID"):
            if kw not in meta:
                raise DicomError(f"stored object lacks file meta {kw}")
        offset = fp.tell()
        object.__setattr__(self, "_jip_meta", FileMetaDataset(meta))
        object.__setattr__(self, "_jip_data", data)
        object.__setattr__(self, "_jip_offset", offset)
        object.__setattr__(
            self, "_jip_class", UID(sop_class_uid or meta.MediaStorageSOPClassUID)
        )
        self.SOPInstanceUID = sop_instance_uid or meta.MediaStorageSOPInstanceUID

    @property
    def stored_meta(self) -> FileMetaDataset:
        return cast(FileMetaDataset, object.__getattribute__(self, "_jip_meta"))

    @property
    def sop_class_uid(self) -> UID:
        return cast(UID, object.__getattribute__(self, "_jip_class"))

    @property
    def transfer_syntax_uid(self) -> UID:
        return UID(self.stored_meta.TransferSyntaxUID)

    @property
    def dataset_bytes(self) -> bytes:
        """The data set exactly as stored, without preamble and file meta."""
        data = cast(bytes, object.__getattribute__(self, "_jip_data"))
        return data[cast(int, object.__getattribute__(self, "_jip_offset")) :]

    def decoded(self) -> Dataset:
        """The full dataset, decoded (only for a transfer syntax conversion)."""
        return dcmread(BytesIO(object.__getattribute__(self, "_jip_data")))


def failed_placeholder(sop_instance_uid: str) -> Dataset:
    """A dataset pynetdicom cannot send: the sub-operation counts as failed and its UID
    is listed in the Failed SOP Instance UID List."""
    ds = Dataset()
    ds.SOPInstanceUID = sop_instance_uid
    return ds


def send_stored(
    assoc: Association,
    instance: StoredInstance,
    *,
    msg_id: int = 1,
    priority: int = 2,
    originator_aet: str | None = None,
    originator_id: int | None = None,
) -> Dataset:
    """C-STORE the stored bytes unchanged; returns the peer's status dataset (empty on
    timeout/abort, as pynetdicom does). Raises ``ValueError`` if the peer accepted no
    context for the SOP class and stored transfer syntax."""
    context = exact_context(assoc, instance.sop_class_uid, instance.transfer_syntax_uid)
    if context is None:
        raise ValueError(
            f"peer accepted no {instance.sop_class_uid.name} context in "
            f"{instance.transfer_syntax_uid.name}"
        )
    req = C_STORE()
    req.MessageID = msg_id
    req.Priority = priority
    req.MoveOriginatorApplicationEntityTitle = originator_aet
    req.MoveOriginatorMessageID = originator_id
    req.AffectedSOPClassUID = instance.sop_class_uid
    req.AffectedSOPInstanceUID = UID(str(instance.SOPInstanceUID))
    req.DataSet = BytesIO(instance.dataset_bytes)
    # same hand-over with the association's reactor as Association.send_c_store
    assoc._reactor_checkpoint.clear()
    try:
        while not assoc._is_paused:
            time.sleep(0.0001)
        assoc.dimse.send_msg(req, cast(int, context.context_id))
        _, rsp = assoc.dimse.get_msg(block=True)
    finally:
        assoc._reactor_checkpoint.set()
    if rsp is None:
        assoc._handle_no_response()
        return Dataset()
    return assoc._check_received_status(rsp)


def exact_context(assoc: Association, sop_class: str, ts: str) -> PresentationContext | None:
    """An accepted context for ``sop_class`` in exactly ``ts`` in which we may send."""
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax == sop_class and cx.transfer_syntax[0] == ts and cx.as_scu:
            return cx
    return None


def install_raw_store(assoc: Association, *, move_originator: str | None = None) -> None:
    """Make ``assoc.send_c_store`` send ``StoredInstance`` bytes as stored (idempotent).
    ``move_originator``: the C-MOVE requester's AE title, sent as Move Originator
    (PS3.7) instead of our own title that pynetdicom passes."""
    if getattr(assoc, _INSTALLED, False):
        return
    original = assoc.send_c_store

    def send_c_store(dataset: Any, msg_id: int = 1, priority: int = 2, **kw: Any) -> Dataset:
        if move_originator and kw.get("originator_aet") is not None:
            kw["originator_aet"] = move_originator
        if not isinstance(dataset, StoredInstance):
            return original(dataset, msg_id, priority, **kw)
        try:
            return send_stored(assoc, dataset, msg_id=msg_id, priority=priority, **kw)
        except ValueError:
            if dataset.transfer_syntax_uid.is_compressed:
                raise
            log.info(
                "peer did not accept %s, converting %s",
                dataset.transfer_syntax_uid.name,
                dataset.SOPInstanceUID,
            )
            return original(dataset.decoded(), msg_id, priority, **kw)

    setattr(assoc, "send_c_store", send_c_store)  # noqa: B010 - instance override
    setattr(assoc, _INSTALLED, True)  # noqa: B010


def install_on_requestor_ae(ae: AE) -> None:
    """Associations this AE requests (the C-MOVE sub-associations) send stored bytes."""
    if getattr(ae, _INSTALLED, False):
        return
    original = ae.associate

    def associate(*args: Any, **kwargs: Any) -> Association:
        """Takes ``move_originator`` (see ``install_raw_store``) besides pynetdicom's;
        ``association``: one the C-MOVE handler has already made, returned as it is."""
        made = kwargs.pop("association", None)
        if made is not None:
            return cast(Association, made)
        move_originator = kwargs.pop("move_originator", None)
        assoc = original(*args, **kwargs)
        set_nodelay(assoc)
        install_raw_store(assoc, move_originator=move_originator)
        return assoc

    setattr(ae, "associate", associate)  # noqa: B010 - instance override
    setattr(ae, _INSTALLED, True)  # noqa: B010
