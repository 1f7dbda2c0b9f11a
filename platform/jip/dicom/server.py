"""Wires the DICOM Application Entity from settings and binds the handlers."""

from __future__ import annotations

import logging
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from jip.dicom import handlers, retrieve, storage_processes
from jip.dicom.find import FIND_SOP_CLASSES, handle_find
from jip.dicom.guard import pdu_read_limit, start_guarded_server
from jip.dicom.storage_classes import STORAGE_SOP_CLASSES
from jip.dicom.storage_fast_path import StorageFastPath
from jip.runtime import Runtime

log = logging.getLogger(__name__)


def build_ae(runtime: Runtime) -> AE:
    s = runtime.settings
    ae = AE(ae_title=s.ae_title)
    ae.maximum_associations = s.max_associations
    ae.maximum_pdu_size = s.max_pdu_size
    ae.dimse_timeout = s.dimse_timeout
    ae.network_timeout = s.network_timeout
    ae.acse_timeout = s.acse_timeout
    ae.require_called_aet = s.require_called_aet
    ae.require_calling_aet = list(s.allowed_calling_aets)
    ae.add_supported_context(Verification)
    for uid in STORAGE_SOP_CLASSES:  # every storage class, retired ones too
        ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
    for find_model in FIND_SOP_CLASSES:  # C-FIND (query)
        ae.add_supported_context(find_model)
    retrieve.configure_retrieve(ae)  # after the storage contexts: C-GET roles on them
    return ae


def handler_bindings(runtime: Runtime) -> list[tuple[Any, ...]]:
    return [
        (evt.EVT_C_ECHO, handlers.handle_echo),
        (evt.EVT_C_STORE, handlers.handle_store, [runtime]),
        (evt.EVT_C_FIND, handle_find, [runtime]),
        *retrieve.handler_bindings(runtime),
    ]


def start_dicom_server(runtime: Runtime, port: int | None = None) -> ThreadedAssociationServer:
    """Start listening in background threads; returns the server (``.shutdown()`` stops)."""
    ae = build_ae(runtime)
    s = runtime.settings
    bind_port = s.dicom_port if port is None else port
    server = start_guarded_server(
        ae,
        (s.bind_host, bind_port),
        handler_bindings(runtime),
        max_pdu_size=s.max_pdu_size,
        recv_timeout=s.network_timeout,
    )
    if s.dicom_fast_store:
        max_pdu_read = pdu_read_limit(s.max_pdu_size)
        processes = None
        if s.dicom_store_processes and storage_processes.supported():
            processes = storage_processes.StorageProcesses(
                s, network_timeout=s.network_timeout, max_pdu_read=max_pdu_read
            )
            processes.start()
            server.shutdown_hooks.append(processes.shutdown)  # type: ignore[attr-defined]
        fast = StorageFastPath(ae, runtime, max_pdu_read=max_pdu_read, processes=processes)
        server.connection_hook = fast.handle  # type: ignore[attr-defined]
    return server
