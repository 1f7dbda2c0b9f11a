"""The listener supports every storage SOP class, retired ones included."""

from __future__ import annotations

from pynetdicom import AllStoragePresentationContexts, StoragePresentationContexts
from pynetdicom.service_class import StorageServiceClass
from pynetdicom.sop_class import uid_to_service_class

from jip.dicom.server import build_ae
from jip.dicom.storage_classes import RETIRED_STORAGE_SOP_CLASSES, STORAGE_SOP_CLASSES
from jip.dicom.storage_fast_path import FAST_SYNTAXES
from jip.runtime import Runtime

US_RETIRED = "1.2.840.10008.5.1.4.1.1.6"
US_MULTIFRAME_RETIRED = "1.2.840.10008.5.1.4.1.1.3"


def test_retired_and_all_known_storage_classes_are_included() -> None:
    classes = set(STORAGE_SOP_CLASSES)
    assert {US_RETIRED, US_MULTIFRAME_RETIRED} <= RETIRED_STORAGE_SOP_CLASSES <= classes
    for cx in [*StoragePresentationContexts, *AllStoragePresentationContexts]:
        assert cx.abstract_syntax in classes
    assert "1.2.840.10008.5.1.4.1.1.501.1" in classes  # DICOS CT, unknown to pynetdicom
    assert "1.2.840.10008.1.20.1" not in classes  # Storage Commitment is no storage class
    assert "1.2.840.10008.1.3.10" not in classes  # DICOMDIR: media only
    assert len(classes) > 200


def test_pynetdicom_serves_c_store_for_each_and_the_fast_path_admits_each() -> None:
    for uid in STORAGE_SOP_CLASSES:
        assert issubclass(uid_to_service_class(uid), StorageServiceClass), uid
        assert uid in FAST_SYNTAXES


def test_ae_supports_them_all_beyond_128(runtime: Runtime) -> None:
    """128 is the limit of contexts *proposed in one association*, not of an AE's
    supported contexts."""
    ae = build_ae(runtime)
    supported = {str(cx.abstract_syntax) for cx in ae.supported_contexts}
    assert set(STORAGE_SOP_CLASSES) <= supported
    assert len(supported) > 128
