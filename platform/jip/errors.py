"""One exception tree for JIP; adapters translate it (HTTP codes, DICOM statuses)."""

from __future__ import annotations


class JIPError(Exception):
    """Base of every error JIP raises on purpose."""

    http_status = 500

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class InvalidInputError(JIPError):
    """The caller sent something JIP cannot accept (bad DICOM, bad query)."""

    http_status = 400


class DicomError(InvalidInputError):
    """A DICOM object is malformed or lacks what JIP needs."""


class DatasetMismatchError(DicomError):
    """A DICOM object is not what its sender announced (SOP class or instance UID)."""


class UnsupportedTransferSyntaxError(DicomError):
    """A DICOM object is encoded in a transfer syntax JIP does not accept."""


class NotFoundError(JIPError):
    http_status = 404


class ConflictError(JIPError):
    http_status = 409


class StorageError(JIPError):
    """The object store failed; the operation did not happen."""

    http_status = 503


class UnsupportedError(JIPError):
    http_status = 415


class NotAcceptableError(JIPError):
    http_status = 406
