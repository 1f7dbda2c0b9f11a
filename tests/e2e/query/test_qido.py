"""QIDO-RS against a real ``jip up``: the ``dicomweb-client`` library as a viewer would
use it, and plain HTTP for the status codes and headers PS3.18 asks for."""

from __future__ import annotations

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from tests.e2e.query.conftest import MAX_RESULTS, Loaded


@pytest.fixture(scope="module")
def client(loaded: Loaded) -> DICOMwebClient:
    return DICOMwebClient(url=f"{loaded.jip.url}/dicomweb")


def _ds(item: dict) -> Dataset:  # type: ignore[type-arg]
    return Dataset.from_json(item)


def test_search_for_studies_wildcard_and_defaults(loaded: Loaded, client: DICOMwebClient) -> None:
    found = [_ds(s) for s in client.search_for_studies(search_filters={"PatientName": "doe*"})]
    assert {s.StudyInstanceUID for s in found} == {loaded.studies["A"], loaded.studies["B"]}
    a = next(s for s in found if s.StudyInstanceUID == loaded.studies["A"])
    # PS3.18 default study attributes
    assert str(a.PatientName) == "Doe^John"
    assert a.PatientID == "PID1"
    assert a.StudyDate == "20240115"
    assert list(a.ModalitiesInStudy) == ["CT", "MR"]
    assert a.NumberOfStudyRelatedSeries == 2
    assert a.NumberOfStudyRelatedInstances == 5
    assert a.InstanceAvailability == "ONLINE"
    assert a.RetrieveURL == f"{loaded.jip.url}/dicomweb/studies/{loaded.studies['A']}"


def test_search_for_studies_ranges_lists_and_empty(loaded: Loaded, client: DICOMwebClient) -> None:
    found = client.search_for_studies(search_filters={"StudyDate": "20240101-20241231"})
    assert {_ds(s).StudyInstanceUID for s in found} == {loaded.studies["A"], loaded.studies["B"]}
    uids = f"{loaded.studies['B']},{loaded.studies['C']}"
    found = client.search_for_studies(search_filters={"StudyInstanceUID": uids})
    assert {_ds(s).StudyInstanceUID for s in found} == {loaded.studies["B"], loaded.studies["C"]}
    assert client.search_for_studies(search_filters={"PatientID": "NOBODY"}) == []


def test_search_for_series(loaded: Loaded, client: DICOMwebClient) -> None:
    study = loaded.studies["A"]
    found = [_ds(s) for s in client.search_for_series(study_instance_uid=study)]
    assert {s.SeriesInstanceUID for s in found} == set(loaded.series[study])
    assert sorted(s.Modality for s in found) == ["CT", "MR"]
    ct = [_ds(s) for s in client.search_for_series(search_filters={"Modality": "CT"})]
    assert len(ct) == 2
    # all-series search carries the study attributes too (PS3.18 10.6.3.3)
    assert {str(s.PatientName) for s in ct} == {"Doe^John", "Doe^Jane"}
    assert all(s.NumberOfSeriesRelatedInstances in (2, 3) for s in ct)


def test_search_for_instances(loaded: Loaded, client: DICOMwebClient) -> None:
    study = loaded.studies["A"]
    series = loaded.series[study][0]
    found = [
        _ds(i)
        for i in client.search_for_instances(study_instance_uid=study, series_instance_uid=series)
    ]
    assert {i.SOPInstanceUID for i in found} == set(loaded.instances[series])
    assert sorted(i.InstanceNumber for i in found) == [1, 2, 3]
    assert {i.Rows for i in found} == {8}
    in_study = client.search_for_instances(study_instance_uid=study, get_remaining=True)
    assert len(in_study) == 5


def test_paging_with_limit_offset_and_get_remaining(client: DICOMwebClient) -> None:
    everything = client.search_for_instances(get_remaining=True)
    assert len(everything) == 9  # > MAX_RESULTS: fetched page by page with offset
    uids = [_ds(i).SOPInstanceUID for i in everything]
    assert len(set(uids)) == 9
    page = client.search_for_instances(limit=2, offset=3)
    assert [_ds(i).SOPInstanceUID for i in page] == uids[3:5]


def test_includefield(loaded: Loaded, client: DICOMwebClient) -> None:
    study = loaded.studies["C"]
    found = client.search_for_series(
        study_instance_uid=study, fields=["BodyPartExamined", "00180050"]
    )
    s = _ds(found[0])
    assert s.BodyPartExamined == "CHEST"
    assert float(s.SliceThickness) == 2.5
    every = client.search_for_instances(study_instance_uid=study, fields=["all"])
    i = _ds(every[0])
    assert [float(v) for v in i.PixelSpacing] == [0.7, 0.7]  # a flattened tag
    assert i.Manufacturer == "JIP"


def test_server_maximum_is_announced(loaded: Loaded) -> None:
    r = httpx.get(f"{loaded.jip.url}/dicomweb/instances")
    assert r.status_code == 200
    assert len(r.json()) == MAX_RESULTS
    assert r.headers["content-type"].startswith("application/dicom+json")
    assert "additional results" in r.headers["warning"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("StudyDate=2024-01-01", "not a valid range (YYYYMMDD-YYYYMMDD)"),
        ("StudyDate=2024", "not a date"),
        ("StudyInstanceUID=1.2.x", "not a valid UID"),
        ("limit=-1", "limit"),
        ("offset=abc", "offset"),
        ("fuzzymatching=maybe", "fuzzymatching"),
        ("includefield=Bogus", "unknown DICOM attribute"),
        ("Modality=CT", "series-level attribute"),
    ],
)
def test_bad_query_parameters_are_400(loaded: Loaded, query: str, message: str) -> None:
    r = httpx.get(f"{loaded.jip.url}/dicomweb/studies?{query}")
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"]


def test_ohif_study_list_query(loaded: Loaded) -> None:
    """The query OHIF's study list sends (DicomWebDataSource/qido.js mapParams): tag and
    keyword keys, wildcards, fuzzymatching=false, includefield with a series attribute
    (Modality), which a study search does not return (PS3.18 10.6.3.3.1); an empty
    Modality element broke OHIF's getModalities."""
    params = {
        "PatientName": "*doe*",
        "00100020": "*PID*",
        "fuzzymatching": "false",
        "includefield": "00081030,00080060,00080090,00100030",
        "limit": "101",
        "offset": "0",
    }
    r = httpx.get(f"{loaded.jip.url}/dicomweb/studies", params=params)
    assert r.status_code == 200 and "Warning" not in r.headers, r.text
    found = r.json()
    assert {s["0020000D"]["Value"][0] for s in found} == {loaded.studies["A"], loaded.studies["B"]}
    assert all("00080060" not in s and s["00080061"]["Value"] for s in found)
    assert all(s["00100030"]["Value"] for s in found)


def test_unknown_parameters_are_ignored_with_a_warning(loaded: Loaded) -> None:
    """PS3.18 8.3: unsupported query parameters are ignored; a Warning names them in
    printable ASCII whatever the client sent (such names made the answer a 500)."""
    url = f"{loaded.jip.url}/dicomweb/studies"
    r = httpx.get(url, params={"PatientID": "PID2", "_": "1700000000", "NoSuchAttribute": "1"})
    assert r.status_code == 200, r.text
    assert [s["00100020"]["Value"] for s in r.json()] == [["PID2"]]
    assert "not supported and were ignored: _, NoSuchAttribute" in r.headers["warning"]
    for name in ("RequestAttributesSequence.\u20ac", 'a"\r\nX-Evil: 1'):
        r = httpx.get(url, params={name: "1", "PatientID": "PID2"})
        assert r.status_code == 200 and "x-evil" not in r.headers, r.text
        assert "ignored" in r.headers["warning"]


def test_status_codes_and_headers(loaded: Loaded) -> None:
    url = loaded.jip.url
    assert httpx.get(f"{url}/dicomweb/studies?PatientID=NOBODY").status_code == 204
    assert httpx.get(f"{url}/dicomweb/studies/1.2.3.4/series").status_code == 204
    assert httpx.get(f"{url}/dicomweb/studies/not..uid/series").status_code == 400
    r = httpx.get(f"{url}/dicomweb/studies?fuzzymatching=true")
    assert r.status_code == 200 and "fuzzymatching" in r.headers["warning"]
    xml = {"Accept": 'multipart/related; type="application/dicom+xml"'}
    assert httpx.get(f"{url}/dicomweb/studies", headers=xml).status_code == 406
    r = httpx.get(f"{url}/dicomweb/series?RequestAttributesSequence.ScheduledProcedureStepID=1")
    assert r.status_code == 200 and "not supported" in r.headers["warning"]


def _get(loaded: Loaded, path: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    r = httpx.get(f"{loaded.jip.url}/dicomweb{path}", params=params, timeout=30)
    assert r.status_code in (200, 204), r.text
    return r.json() if r.status_code == 200 else []  # type: ignore[no-any-return]


def test_matched_attributes_are_returned(loaded: Loaded) -> None:
    """PS3.18 10.6.3.3: the attributes a search matched on come back with the results."""
    (found,) = _get(loaded, "/series", BodyPartExamined="CHEST", Modality="MR", PatientID="PID3")
    s = _ds(found)
    assert (s.BodyPartExamined, s.Modality, s.PatientID) == ("CHEST", "MR", "PID3")


def test_tag_attributes_from_the_representative_and_each_instance(loaded: Loaded) -> None:
    """Attributes without an index column: from the series' instance with the smallest
    SOP Instance UID in a series search, from each instance in an instance search."""
    study = loaded.studies["A"]
    for item in _get(loaded, f"/studies/{study}/series", includefield="SliceLocation"):
        s = _ds(item)
        first = min(loaded.instances[s.SeriesInstanceUID])
        (rep,) = _get(loaded, "/instances", SOPInstanceUID=first, includefield="SliceLocation")
        assert s.SliceLocation == _ds(rep).SliceLocation
    series = loaded.series[study][0]
    found = _get(loaded, f"/studies/{study}/series/{series}/instances", includefield="00201041")
    assert sorted(float(_ds(i).SliceLocation) for i in found) == [0.0, 2.5, 5.0]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/series", {"PatientName": "Doe*"}),  # a parent filter: late row lookup
        ("/series", {"StudyDate": "20230101-20241231"}),
        ("/instances", {"Modality": "MR"}),
        ("/instances", {"PatientName": "doe^j*", "StudyDate": "20240301"}),
    ],
)
def test_offset_pages_are_slices_of_the_whole_result(
    loaded: Loaded, path: str, params: dict[str, str]
) -> None:
    def uid(item: dict) -> str:  # type: ignore[type-arg]
        s = _ds(item)
        return str(s.SOPInstanceUID if path == "/instances" else s.SeriesInstanceUID)

    r = httpx.get(f"{loaded.jip.url}/dicomweb{path}", params=params, timeout=30)
    assert "Warning" not in r.headers  # complete: within the server maximum
    whole = [uid(i) for i in r.json()]
    assert len(whole) >= 2
    for offset in range(len(whole) + 1):
        page = [uid(i) for i in _get(loaded, path, **params, limit="2", offset=str(offset))]
        assert page == whole[offset : offset + 2]


def test_numbers_beyond_sql_integers(loaded: Loaded) -> None:
    url = f"{loaded.jip.url}/dicomweb/instances"
    assert httpx.get(url, params={"offset": "9" * 25}).status_code == 204
    r = httpx.get(url, params={"InstanceNumber": "9" * 25})
    assert r.status_code == 400 and "out of range" in r.json()["detail"]


def test_multi_valued_attribute_matches_if_any_value_does(loaded: Loaded) -> None:
    """PixelSpacing (0.7\\0.7) lives only in the flattened tags: one matching value is
    enough (PS3.4 C.2.2.2)."""
    assert len(_get(loaded, "/instances", PatientID="PID2", PixelSpacing="0.7")) == 2
    assert len(_get(loaded, "/series", PatientID="PID2", PixelSpacing="0.7")) == 1
    assert _get(loaded, "/instances", PatientID="PID2", PixelSpacing="0.5") == []
