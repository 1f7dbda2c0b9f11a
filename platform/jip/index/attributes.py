"""Which DICOM attributes the index can match and return, at which level, from which
column. QIDO-RS and C-FIND both read this one table, so they answer alike.

Attributes not listed here are still reachable through the flattened ``instances.tags``
(instance level directly, series/study level through a representative instance).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from jip.errors import InvalidInputError


class Level(enum.IntEnum):
    """Query/Retrieve levels, ordered from the top of the hierarchy down."""

    PATIENT = 0
    STUDY = 1
    SERIES = 2
    IMAGE = 3


@dataclass(frozen=True, slots=True)
class Attribute:
    keyword: str
    tag: int
    vr: str
    level: Level
    column: str | None  # "table.column" in the index; None: computed (see search.py)


def _a(keyword: str, level: Level, column: str | None) -> Attribute:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return Attribute(keyword, tag, dictionary_VR(tag), level, column)


P, ST, SE, IM = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

ATTRIBUTES: dict[str, Attribute] = {
    a.keyword: a
    for a in (
        # patient
        _a("PatientName", P, "patients.patient_name"),
        _a("PatientID", P, "patients.patient_id"),
        _a("PatientBirthDate", P, "patients.birth_date"),
        _a("PatientSex", P, "patients.sex"),
        _a("NumberOfPatientRelatedStudies", P, None),
        _a("NumberOfPatientRelatedSeries", P, None),
        _a("NumberOfPatientRelatedInstances", P, None),
        # study
        _a("StudyInstanceUID", ST, "studies.study_uid"),
        _a("StudyDate", ST, "studies.study_date"),
        _a("StudyTime", ST, "studies.study_time"),
        _a("AccessionNumber", ST, "studies.accession_number"),
        _a("StudyID", ST, "studies.study_id"),
        _a("StudyDescription", ST, "studies.description"),
        _a("ReferringPhysicianName", ST, "studies.referring_physician"),
        _a("ModalitiesInStudy", ST, None),
        _a("NumberOfStudyRelatedSeries", ST, "studies.num_series"),
        _a("NumberOfStudyRelatedInstances", ST, "studies.num_instances"),
        # series
        _a("SeriesInstanceUID", SE, "series.series_uid"),
        _a("Modality", SE, "series.modality"),
        _a("SeriesNumber", SE, "series.series_number"),
        _a("SeriesDescription", SE, "series.description"),
        _a("BodyPartExamined", SE, "series.body_part"),
        _a("Manufacturer", SE, "series.manufacturer"),
        _a("ManufacturerModelName", SE, "series.model"),
        _a("InstitutionName", SE, "series.institution"),
        _a("SliceThickness", SE, "series.slice_thickness"),
        _a("NumberOfSeriesRelatedInstances", SE, "series.num_instances"),
        # instance
        _a("SOPInstanceUID", IM, "instances.sop_instance_uid"),
        _a("SOPClassUID", IM, "instances.sop_class_uid"),
        _a("InstanceNumber", IM, "instances.instance_number"),
        _a("Rows", IM, "instances.rows"),
        _a("Columns", IM, "instances.columns"),
        _a("NumberOfFrames", IM, "instances.number_of_frames"),
        _a("AvailableTransferSyntaxUID", IM, "instances.transfer_syntax_uid"),
    )
}

UNIQUE_KEY = {
    Level.PATIENT: "PatientID",
    Level.STUDY: "StudyInstanceUID",
    Level.SERIES: "SeriesInstanceUID",
    Level.IMAGE: "SOPInstanceUID",
}

# Attributes answered by the service itself, never matched against the index.
SERVICE_ATTRIBUTES = frozenset(
    {
        "QueryRetrieveLevel",
        "SpecificCharacterSet",
        "RetrieveAETitle",
        "RetrieveURL",
        "InstanceAvailability",
        "TimezoneOffsetFromUTC",
    }
)


def resolve_keyword(name: str) -> str:
    """Accept a keyword (``PatientName``) or a tag (``00100010``); return the keyword.

    Raises ``InvalidInputError`` for anything that names no DICOM attribute."""
    text = name.strip()
    if len(text) == 8 and all(c in "0123456789abcdefABCDEF" for c in text):
        tag = int(text, 16)
        kw = keyword_for_tag(tag)
        if not kw:
            if (tag >> 16) % 2 == 1:
                return f"{tag:08X}"  # private tags are flattened by tag
            raise InvalidInputError(f"unknown DICOM attribute tag {text!r}")
        return kw
    if text in ATTRIBUTES or tag_for_keyword(text) is not None:
        return text
    raise InvalidInputError(f"unknown DICOM attribute {name!r}")


def vr_of(keyword: str) -> str:
    """The VR the index answers this attribute with ("UN" when it cannot tell)."""
    attr = ATTRIBUTES.get(keyword)
    if attr is not None:
        return attr.vr
    if keyword in ("RetrieveURL",):
        return "UR"
    try:
        vr = dictionary_VR(keyword)
    except KeyError:
        return "UN"
    return vr.split(" or ")[0]


def tag_of(keyword: str) -> int:
    attr = ATTRIBUTES.get(keyword)
    if attr is not None:
        return attr.tag
    tag = tag_for_keyword(keyword)
    if tag is None:
        return int(keyword, 16)
    return int(tag)


# Levels above and including ``level`` whose attributes a result row may carry.
def levels_upto(level: Level) -> list[Level]:
    return [lv for lv in Level if lv <= level]
