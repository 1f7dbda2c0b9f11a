"""QIDO-RS searches on both index backends (SQLite, PostgreSQL), in process: attributes
from representative instances, late row lookup pages, matched attributes returned."""

from __future__ import annotations

import json

import pydicom

from jip.dicomweb import qido
from jip.dicomweb.qido_params import parse_query
from jip.index.attributes import Level
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series

BASE = "http://127.0.0.1/dicomweb"


def _search(runtime: Runtime, level: Level, **params: str) -> list[pydicom.Dataset]:
    query = parse_query(list(params.items()), level, {}, max_results=100)
    r = qido._answer(runtime, query, level, BASE)
    if r.status_code == 204:
        return []
    return [pydicom.Dataset.from_json(item) for item in json.loads(bytes(r.body))]


def test_series_search_on_both_backends(combo_runtime: Runtime) -> None:
    sop_uids: dict[str, list[str]] = {}
    slice_of: dict[str, float] = {}
    for n in range(5):
        spec = SeriesSpec(slices=3, size=8, patient_id=f"Q{n % 2}", patient_name=f"Doe^P{n}",
                          study_date=f"2024010{n + 1}")  # fmt: skip
        for ds in make_series(spec):
            combo_runtime.ingestor.ingest(dataset_bytes(ds))
            sop_uids.setdefault(ds.SeriesInstanceUID, []).append(ds.SOPInstanceUID)
            slice_of[ds.SOPInstanceUID] = float(ds.SliceLocation)

    found = _search(combo_runtime, Level.SERIES, includefield="SliceLocation,PixelSpacing")
    assert len(found) == 5
    for s in found:  # from the instance with the smallest SOP Instance UID
        assert float(s.SliceLocation) == slice_of[min(sop_uids[s.SeriesInstanceUID])]
        assert [float(v) for v in s.PixelSpacing] == [0.7, 0.7]

    whole = [s.SeriesInstanceUID for s in _search(combo_runtime, Level.SERIES, PatientName="doe*")]
    assert len(whole) == 5  # newest first: pages below are slices of this order
    for offset in range(6):
        page = _search(combo_runtime, Level.SERIES, PatientName="doe*", limit="2",
                       offset=str(offset))  # fmt: skip
        assert [s.SeriesInstanceUID for s in page] == whole[offset : offset + 2]

    (one,) = _search(combo_runtime, Level.SERIES, BodyPartExamined="CHEST", PatientID="Q1",
                     StudyDate="20240102")  # fmt: skip
    assert (one.BodyPartExamined, one.PatientID) == ("CHEST", "Q1")

    # asked again, a search runs the SQL text recorded the first time (index.prepared):
    # same answer, and what was stored meanwhile is in it
    again = [s.SeriesInstanceUID for s in _search(combo_runtime, Level.SERIES, PatientName="doe*")]
    assert again == whole
    spec = SeriesSpec(slices=1, size=8, patient_id="Q9", patient_name="Doe^New",
                      study_date="20240201")  # fmt: skip
    (new,) = make_series(spec)
    combo_runtime.ingestor.ingest(dataset_bytes(new))
    latest = [s.SeriesInstanceUID for s in _search(combo_runtime, Level.SERIES, PatientName="doe*")]
    assert latest == [new.SeriesInstanceUID, *whole]


def test_multi_valued_tag_matches_if_any_value_matches(combo_runtime: Runtime) -> None:
    """PS3.4 C.2.2.2: an attribute with several values matches when one of them does;
    ImageType lives only in the flattened tags (a JSON array)."""
    for name, image_type in (("derived", ["DERIVED", "PRIMARY", "WHOLE BODY", "EMISSION"]),
                             ("axial", ["ORIGINAL", "PRIMARY", "AXIAL"])):
        (ds,) = make_series(SeriesSpec(slices=1, size=8, patient_id=f"MV{name}"))
        ds.ImageType = image_type
        combo_runtime.ingestor.ingest(dataset_bytes(ds))

    def found(level: Level, value: str) -> set[str]:
        hits = _search(combo_runtime, level, ImageType=value, includefield="PatientID")
        return {str(h.PatientID)[2:] for h in hits}

    for level in (Level.IMAGE, Level.SERIES):
        assert found(level, "DERIVED") == {"derived"}
        assert found(level, "DER*") == {"derived"}
        assert found(level, "WHOLE BODY") == {"derived"}
        assert found(level, "AXIAL") == {"axial"}
        assert found(level, "PRIMARY") == {"derived", "axial"}
        assert found(level, "*PRIMARY*") == {"derived", "axial"}
        assert found(level, "DERIVED\\PRIMARY\\WHOLE BODY\\EMISSION") == {"derived", "axial"}
        assert found(level, "EMISSION\\AXIAL") == {"derived", "axial"}
        assert found(level, "SECONDARY") == set()
        assert found(level, "PRIM") == set()  # single value matching is not substring
