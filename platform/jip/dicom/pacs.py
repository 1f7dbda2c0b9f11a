"""Pull from a site PACS: C-FIND at study/series level and C-MOVE into JIP (as SCU).

The PACS must know JIP's AE (title, host, DICOM port) as a move destination; the moved
instances then arrive at the running JIP listener like any other C-STORE, and are
stored and indexed there. Study Root models throughout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
)

from jip.config import DicomPeer, Settings
from jip.dicom.scu import AssociationFailed, associate, find_peer
from jip.dicom.sockets import set_nodelay
from jip.errors import InvalidInputError, JIPError, NotFoundError

Level = Literal["STUDY", "SERIES"]

PENDING = (0xFF00, 0xFF01)
SUCCESS = 0x0000
CANCEL = 0xFE00

# what we ask the PACS to return, per level
STUDY_RETURN_KEYS = (
    "PatientID",
    "PatientName",
    "StudyInstanceUID",
    "StudyDate",
    "StudyDescription",
    "AccessionNumber",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
SERIES_RETURN_KEYS = (
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
)
# filters a user may give, by CLI name -> DICOM keyword
FILTER_KEYWORDS = {
    "patient_id": "PatientID",
    "patient_name": "PatientName",
    "study_date": "StudyDate",
    "accession": "AccessionNumber",
    "modality": "Modality",
    "study_uid": "StudyInstanceUID",
    "series_uid": "SeriesInstanceUID",
    "description": "StudyDescription",
}


class PacsError(JIPError):
    """The PACS refused, failed or could not be reached."""

    http_status = 502


class MoveCancelled(JIPError):
    """The user interrupted a retrieve; the PACS was sent a C-CANCEL."""

    def __init__(self, report: RetrieveReport) -> None:
        super().__init__("retrieve cancelled")
        self.report = report


@dataclass(frozen=True, slots=True)
class Match:
    """One C-FIND result, flattened to strings for display and selection."""

    level: Level
    values: dict[str, str]

    @property
    def study_uid(self) -> str:
        return self.values.get("StudyInstanceUID", "")

    @property
    def series_uid(self) -> str:
        return self.values.get("SeriesInstanceUID", "")


@dataclass(frozen=True, slots=True)
class MoveTarget:
    """A study, or one series of a study, to move."""

    study_uid: str
    series_uid: str = ""

    @property
    def level(self) -> Level:
        return "SERIES" if self.series_uid else "STUDY"


@dataclass
class MoveProgress:
    """Counts from the latest C-MOVE response of one target."""

    target: MoveTarget
    remaining: int = 0
    completed: int = 0
    failed: int = 0
    warning: int = 0
    status: int = 0xFF00

    @property
    def total(self) -> int:
        return self.remaining + self.completed + self.failed + self.warning


@dataclass
class RetrieveReport:
    moves: list[MoveProgress] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(m.completed for m in self.moves)

    @property
    def failed(self) -> int:
        return sum(m.failed for m in self.moves)

    @property
    def warning(self) -> int:
        return sum(m.warning for m in self.moves)

    @property
    def ok(self) -> bool:
        return all(m.status == SUCCESS for m in self.moves)


def resolve_peer(settings: Settings, name: str | None) -> DicomPeer:
    """The configured peer by its name in settings.peers or its AE title; the only one
    if none is named."""
    if name:
        peer = find_peer(settings.peers, name)
        if peer is None:
            known = ", ".join(sorted(settings.peers)) or "none"
            raise NotFoundError(f"no DICOM peer {name!r} in settings.peers (known: {known})")
        return peer
    if len(settings.peers) == 1:
        return next(iter(settings.peers.values()))
    raise InvalidInputError(
        "name the PACS with --peer: settings.peers has "
        + (", ".join(sorted(settings.peers)) or "no peers (set JIP_PEERS)")
    )


@contextmanager
def associated(
    peer: DicomPeer, *, calling: str, contexts: list[str], timeout: float = 30
) -> Iterator[Association]:
    ae = AE(ae_title=calling)
    for uid in contexts:
        ae.add_requested_context(uid)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    try:
        assoc = associate(ae, peer.host, peer.port, peer.ae_title)
    except AssociationFailed as exc:
        raise PacsError(exc.message) from exc
    set_nodelay(assoc)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def find(
    peer: DicomPeer, level: Level, filters: dict[str, str], *, calling: str
) -> list[Match]:
    """C-FIND at ``level`` with the given keyword filters (DICOM matching rules:
    wildcards, date ranges as the PACS supports them)."""
    keys = STUDY_RETURN_KEYS if level == "STUDY" else SERIES_RETURN_KEYS
    query = Dataset()
    query.QueryRetrieveLevel = level
    for kw in keys:
        setattr(query, kw, "")
    for kw, value in filters.items():
        if level == "STUDY" and kw == "Modality":
            kw = "ModalitiesInStudy"
        if level == "STUDY" and kw == "SeriesInstanceUID":
            raise InvalidInputError("a series UID filter needs --level series")
        setattr(query, kw, value)
    with associated(
        peer, calling=calling, contexts=[StudyRootQueryRetrieveInformationModelFind]
    ) as assoc:
        matches = _c_find(assoc, query, level, keys)
        modality = filters.get("Modality", "")
        if level == "STUDY" and modality:
            matches = [m for m in matches if _has_modality(assoc, m, modality)]
    return matches


def _c_find(assoc: Association, query: Dataset, level: Level, keys: tuple[str, ...]) -> list[Match]:
    matches: list[Match] = []
    for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
        code = _status(status)
        if code in PENDING and identifier is not None:
            matches.append(Match(level, _flatten(identifier, keys)))
        elif code != SUCCESS:
            raise PacsError(f"C-FIND failed with status 0x{code:04X}")
    return matches


def _has_modality(assoc: Association, study: Match, modality: str) -> bool:
    """ModalitiesInStudy is an optional key a PACS may ignore (dcmqrscp does) and then
    answers every study: check the values it returned; if it returned none, ask for the
    study's series of that modality (Modality is a required series key)."""
    returned = [v for v in study.values.get("ModalitiesInStudy", "").split("\\") if v]
    if returned:
        pattern = re.compile(re.escape(modality).replace(r"\*", ".*").replace(r"\?", "."))
        return any(pattern.fullmatch(v) for v in returned)
    query = Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.StudyInstanceUID = study.study_uid
    query.SeriesInstanceUID = ""
    query.Modality = modality
    return bool(_c_find(assoc, query, "SERIES", ("SeriesInstanceUID", "Modality")))


def move(
    peer: DicomPeer,
    targets: list[MoveTarget],
    *,
    destination: str,
    calling: str,
    on_progress: Callable[[MoveProgress], None] | None = None,
) -> RetrieveReport:
    """C-MOVE each target to ``destination`` (JIP's own AE title), one association.
    Ctrl-C (``KeyboardInterrupt``) sends a C-CANCEL and raises ``MoveCancelled``."""
    report = RetrieveReport()
    with associated(
        peer, calling=calling, contexts=[StudyRootQueryRetrieveInformationModelMove]
    ) as assoc:
        for msg_id, target in enumerate(targets, start=1):
            progress = MoveProgress(target)
            report.moves.append(progress)
            responses = assoc.send_c_move(
                _move_identifier(target), destination,
                StudyRootQueryRetrieveInformationModelMove, msg_id=msg_id,
            )
            try:
                for status, _ in responses:
                    _update(progress, status)
                    if on_progress:
                        on_progress(progress)
            except KeyboardInterrupt:
                # ask the PACS to stop, collect its final (Cancel) response, then stop
                assoc.send_c_cancel(msg_id, query_model=StudyRootQueryRetrieveInformationModelMove)
                for status, _ in responses:
                    _update(progress, status)
                raise MoveCancelled(report) from None
            if not assoc.is_established:
                raise PacsError(f"the PACS dropped the association moving {target}")
    return report


def _move_identifier(target: MoveTarget) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = target.level
    query.StudyInstanceUID = target.study_uid
    if target.series_uid:
        query.SeriesInstanceUID = target.series_uid
    return query


def _update(progress: MoveProgress, status: Dataset) -> None:
    progress.status = _status(status)
    for attr, kw in (
        ("remaining", "NumberOfRemainingSuboperations"),
        ("completed", "NumberOfCompletedSuboperations"),
        ("failed", "NumberOfFailedSuboperations"),
        ("warning", "NumberOfWarningSuboperations"),
    ):
        if kw in status:
            setattr(progress, attr, int(status[kw].value or 0))
    if progress.status not in PENDING and progress.status != CANCEL:
        progress.remaining = 0


def series_targets(
    peer: DicomPeer, series_uids: list[str], *, calling: str
) -> list[MoveTarget]:
    """Study Root series moves need the study UID: ask the PACS for it."""
    targets = []
    for uid in series_uids:
        found = find(peer, "SERIES", {"SeriesInstanceUID": uid}, calling=calling)
        if not found:
            raise NotFoundError(f"series {uid} not found on {peer.ae_title}")
        targets.append(MoveTarget(found[0].study_uid, uid))
    return targets


def _status(status: Dataset) -> int:
    if "Status" not in status:
        raise PacsError("no response from the PACS (timeout or association aborted)")
    return int(status.Status)


def _flatten(identifier: Dataset, keys: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for kw in keys:
        value = identifier.get(kw, "")
        if value is None:
            value = ""
        if isinstance(value, MultiValue | list | tuple):  # a PersonName iterates its characters
            value = "\\".join(str(v) for v in value)
        out[kw] = str(value)
    return out
