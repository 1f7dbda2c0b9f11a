"""Every storage SOP class the listener accepts, retired ones included.

pynetdicom's ``StoragePresentationContexts`` holds a selection of 120 (an AE that
*requests* contexts may propose at most 128 per association), and its
``uid_to_service_class`` knows none of the retired classes, so an association served
by pynetdicom answered a C-STORE of, say, the retired Ultrasound Image Storage
(1.2.840.10008.5.1.4.1.1.6, still sent by older ultrasound machines) with an abort.
A site archive must keep whatever a modality sends. The acceptor side has no 128
limit (a peer proposes at most 128 contexts per association; the AE may support any
number), so JIP supports the union of:

- pydicom's UID dictionary: every SOP Class named "... Storage" (current, retired and
  trial), except Storage Commitment (not a storage class) and the Media Storage
  Directory (DICOMDIR, a media-only object);
- pynetdicom's storage and non-patient-object storage classes (a few are newer than
  pydicom's dictionary).

``register_with_pynetdicom`` maps the ones pynetdicom does not know to its
``StorageServiceClass``, so its C-STORE handling and C-GET role negotiation treat
them like any other storage class.
"""

from __future__ import annotations

from pydicom.uid import UID_dictionary
from pynetdicom import sop_class
from pynetdicom.service_class import StorageServiceClass

_NOT_STORAGE_PREFIXES = ("Storage Commitment", "Media Storage Directory")


def _from_pydicom() -> dict[str, str]:
    """``{uid: keyword}`` of the storage SOP classes in pydicom's UID dictionary."""
    out = {}
    for uid, (name, kind, _info, _retired, keyword) in UID_dictionary.items():
        if kind != "SOP Class" or "Storage" not in name:
            continue
        if name.startswith(_NOT_STORAGE_PREFIXES):
            continue
        out[str(uid)] = keyword
    return out


def _from_pynetdicom() -> dict[str, str]:
    pairs = {**sop_class._STORAGE_CLASSES, **sop_class._NON_PATIENT_OBJECT_CLASSES}
    return {str(uid): keyword for keyword, uid in pairs.items()}


_KEYWORDS: dict[str, str] = {**_from_pydicom(), **_from_pynetdicom()}

STORAGE_SOP_CLASSES: tuple[str, ...] = tuple(sorted(_KEYWORDS))
"""All storage SOP Class UIDs the listener accepts (sorted)."""

RETIRED_STORAGE_SOP_CLASSES: frozenset[str] = frozenset(
    uid for uid in STORAGE_SOP_CLASSES if UID_dictionary.get(uid, ("",) * 4)[3] == "Retired"
)


def is_storage(uid: str) -> bool:
    return uid in _STORAGE_SET


_STORAGE_SET = frozenset(STORAGE_SOP_CLASSES)


def register_with_pynetdicom() -> None:
    """Make pynetdicom serve C-STORE for every class in ``STORAGE_SOP_CLASSES``
    (idempotent; pynetdicom keeps the registry module-wide)."""
    for uid in STORAGE_SOP_CLASSES:
        service = sop_class.uid_to_service_class(uid)
        if issubclass(service, StorageServiceClass):
            continue
        keyword = _KEYWORDS[uid] or f"Storage_{uid.replace('.', '_')}"
        if keyword in sop_class._STORAGE_CLASSES:  # same name, other UID: keep both
            keyword = f"{keyword}_{uid.replace('.', '_')}"
        sop_class.register_uid(uid, keyword, StorageServiceClass)


register_with_pynetdicom()
