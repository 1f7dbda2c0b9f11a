"""Turn received bytes into the fields the index needs, rejecting what JIP cannot keep.

Pixel data is never decoded here: parsing stops before it, so the hot C-STORE path
costs one header parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pydicom
import pydicom.config
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from jip.dicom import fast_header
from jip.dicom.structure import check_complete, check_transfer_syntax
from jip.errors import DicomError

# JIP checks the values it relies on (UIDs) itself; pydicom's regex validation of every
# value read only emits warnings and costs about a tenth of the C-STORE path.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

_BULK_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ"}
_MAX_FLAT_LEN = 1024


def is_valid_uid(value: object) -> bool:
    """Digits in dot-separated components, nothing else (no regex: this runs several
    times per received instance)."""
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isascii():
        return False
    return value.replace(".", "").isdigit() and ".." not in value and value[0] != "." != value[-1]


def check_uid(value: str, what: str = "UID") -> str:
    """Reject anything that is not a DICOM UID (so no UID can carry path tricks)."""
    if not is_valid_uid(value):
        raise DicomError(f"invalid {what}: {value!r}")
    return value


@dataclass(slots=True)
class ParsedInstance:
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    study_uid: str
    transfer_syntax_uid: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    patient_age: int | None
    study_date: str
    study_time: str
    accession_number: str
    study_id: str
    study_description: str
    referring_physician: str
    institution: str
    modality: str
    series_number: int | None
    series_description: str
    body_part: str
    manufacturer: str
    model: str
    slice_thickness: float | None
    instance_number: int | None
    rows: int | None
    columns: int | None
    number_of_frames: int | None
    tags: dict[str, Any] = field(default_factory=dict)


def read_header(data: bytes) -> Dataset:
    """Parse a DICOM Part 10 byte string up to the pixel data."""
    try:
        ds = pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
    except InvalidDicomError as exc:
        raise DicomError(f"not a DICOM Part 10 object: {exc}") from exc
    except Exception as exc:  # pydicom raises many types on truncated/garbage input
        raise _malformed(exc) from exc
    return ds


def _malformed(exc: Exception) -> DicomError:
    """Python's words about pydicom's internals ("'FileMetaDataset' object has no
    attribute ...") tell a user nothing; they stay in the exception chain."""
    return DicomError("truncated or malformed DICOM object")


def parse_instance(data: bytes) -> ParsedInstance:
    """Parse and validate; raises ``DicomError`` with the reason on anything unusable."""
    meta = fast_header.read_meta(data)
    if meta is not None:
        tsuid, body_start = meta
        check_uid(tsuid, "Transfer Syntax UID")
        check_transfer_syntax(tsuid)
        check_complete(data, tsuid)
        values = fast_header.element_values(data, tsuid, body_start)
        if values is not None:
            return _build(values, tsuid)
    return parse_with_pydicom(data)


def same_data_set(a: bytes, b: bytes) -> bool:
    """True if two Part 10 objects hold the same data set in the same transfer syntax,
    whatever their file meta groups say: a file imported from a CD and the same
    instance received by C-STORE (JIP writes its own meta group) are one instance."""
    meta_a, meta_b = fast_header.read_meta(a), fast_header.read_meta(b)
    if meta_a is None or meta_b is None or meta_a[0] != meta_b[0]:
        return False
    return memoryview(a)[meta_a[1] :] == memoryview(b)[meta_b[1] :]


def parse_with_pydicom(data: bytes) -> ParsedInstance:
    """The general reader, for everything ``fast_header`` does not take."""
    ds = read_header(data)
    file_meta = getattr(ds, "file_meta", None)
    try:
        tsuid = str(getattr(file_meta, "TransferSyntaxUID", "") or "")
        if not tsuid:
            raise DicomError("missing Transfer Syntax UID in file meta information")
        check_uid(tsuid, "Transfer Syntax UID")
        check_transfer_syntax(tsuid)
        check_complete(data, tsuid)
        return _build(element_values(ds), tsuid)
    except DicomError:
        raise
    except Exception as exc:
        raise _malformed(exc) from exc


def _build(values: dict[str, Any], tsuid: str) -> ParsedInstance:
    sop = check_uid(_s(values, "SOPInstanceUID"), "SOP Instance UID")
    sop_class = check_uid(_s(values, "SOPClassUID"), "SOP Class UID")
    series = check_uid(_s(values, "SeriesInstanceUID"), "Series Instance UID")
    study = check_uid(_s(values, "StudyInstanceUID"), "Study Instance UID")
    study_date = _s(values, "StudyDate")[:8]
    birth = _s(values, "PatientBirthDate")[:8]
    return ParsedInstance(
        sop_instance_uid=sop,
        sop_class_uid=sop_class,
        series_uid=series,
        study_uid=study,
        transfer_syntax_uid=tsuid,
        patient_id=_s(values, "PatientID")[:64],
        patient_name=_s(values, "PatientName")[:324],
        patient_birth_date=birth,
        patient_sex=_s(values, "PatientSex")[:16],
        patient_age=_age(_s(values, "PatientAge"), birth, study_date),
        study_date=study_date,
        study_time=_s(values, "StudyTime")[:32],
        accession_number=_s(values, "AccessionNumber")[:16],
        study_id=_s(values, "StudyID")[:16],
        study_description=_s(values, "StudyDescription")[:64],
        referring_physician=_s(values, "ReferringPhysicianName")[:324],
        institution=_s(values, "InstitutionName")[:64],
        modality=_s(values, "Modality")[:16],
        series_number=_int(values, "SeriesNumber"),
        series_description=_s(values, "SeriesDescription")[:64],
        body_part=_s(values, "BodyPartExamined")[:64],
        manufacturer=_s(values, "Manufacturer")[:64],
        model=_s(values, "ManufacturerModelName")[:64],
        slice_thickness=_float(values, "SliceThickness"),
        instance_number=_int(values, "InstanceNumber"),
        rows=_int(values, "Rows"),
        columns=_int(values, "Columns"),
        number_of_frames=_int(values, "NumberOfFrames"),
        tags={
            k: v for k, v in values.items() if not (isinstance(v, str) and len(v) > _MAX_FLAT_LEN)
        },
    )


def element_values(ds: Dataset) -> dict[str, Any]:
    """Top-level non-bulk elements as ``{keyword: plain value}``: the index's flattened
    tags (``fast_header`` computes the same from the bytes)."""
    out: dict[str, Any] = {}
    for elem in ds:
        if elem.VR in _BULK_VRS or elem.tag.group == 0x0002:
            continue
        try:
            value = _jsonable(elem.value)
        except Exception:
            continue
        key = elem.keyword or f"{elem.tag.group:04X}{elem.tag.element:04X}"
        out[key] = value
    return out


def _clean(text: str) -> str:
    """Drop NUL characters: padding in some writers, and PostgreSQL text cannot hold them."""
    return text.replace("\x00", "") if "\x00" in text else text


def _jsonable(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, PersonName):
        return _clean(str(value))
    if isinstance(value, bytes):
        return _clean(value.decode("latin-1", "replace"))
    try:
        f = float(value)
        if f.is_integer() and isinstance(value, int):
            return int(value)
        return f if f == f and abs(f) != float("inf") else None
    except (TypeError, ValueError):
        return _clean(str(value))


def _s(values: dict[str, Any], keyword: str) -> str:
    value = values.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(values: dict[str, Any], keyword: str) -> int | None:
    try:
        value = values.get(keyword)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None or value == "":
            return None
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _float(values: dict[str, Any], keyword: str) -> float | None:
    try:
        value = values.get(keyword)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None or value == "":
            return None
        f = float(value)
        return f if f == f and abs(f) != float("inf") else None
    except (TypeError, ValueError, OverflowError):
        return None


def _age(age: str, birth: str, study_date: str) -> int | None:
    """Age in years from PatientAge ("045Y") or from birth and study dates."""
    if len(age) == 4 and age[:3].isdigit():
        n, unit = int(age[:3]), age[3].upper()
        return {"Y": n, "M": n // 12, "W": n // 52, "D": n // 365}.get(unit)
    if len(birth) == 8 and len(study_date) == 8 and birth.isdigit() and study_date.isdigit():
        years = int(study_date[:4]) - int(birth[:4])
        if study_date[4:] < birth[4:]:
            years -= 1
        return years if 0 <= years < 150 else None
    return None
