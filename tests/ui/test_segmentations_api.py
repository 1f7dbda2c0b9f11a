"""SEG overlays API over a real ingest: a synthetic CT series and a SEG built by highdicom."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from jip.api.app import create_app
from jip.runtime import Runtime
from jip.segmentations.colors import PALETTE, dicom_lab_to_hex
from jip.segmentations.decode import merge_runs, runs_of
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from jip.synthetic_seg import make_segmentation

SIZE, SLICES = 16, 4


def square_masks(n: int = SLICES) -> dict[str, np.ndarray]:
    """Body: a band on every slice; Lesion: a 4x4 square at rows 6-9, cols 8-11 of slice 2."""
    body = np.zeros((n, SIZE, SIZE), bool)
    body[:, 2:14, 1:15] = True
    lesion = np.zeros((n, SIZE, SIZE), bool)
    lesion[2, 6:10, 8:12] = True
    return {"Body": body, "Lesion": lesion}


def decode_runs(runs: list[int]) -> np.ndarray:
    mask = np.zeros(SIZE * SIZE, bool)
    for start, length in zip(runs[0::2], runs[1::2], strict=True):
        mask[start : start + length] = True
    return mask.reshape(SIZE, SIZE)


@dataclass
class SegSite:
    client: TestClient
    runtime: Runtime
    ct: list[Dataset]
    ct_uid: str
    other_uid: str
    seg_sop: str
    seg_series: str


@pytest.fixture
def seg_site(runtime: Runtime) -> Iterator[SegSite]:
    ct = list(make_series(SeriesSpec(slices=SLICES, size=SIZE, patient_id="SEG1")))
    study = str(ct[0].StudyInstanceUID)
    other = list(
        make_series(
            SeriesSpec(slices=2, size=SIZE, patient_id="SEG1", study_uid=study, series_number=2)
        )
    )
    for ds in ct + other:
        runtime.ingestor.ingest(dataset_bytes(ds))
    seg = make_segmentation(ct, square_masks(), colors={"Lesion": "red"})
    runtime.ingestor.ingest(dataset_bytes(seg))
    with TestClient(create_app(runtime)) as client:
        yield SegSite(
            client,
            runtime,
            ct,
            str(ct[0].SeriesInstanceUID),
            str(other[0].SeriesInstanceUID),
            str(seg.SOPInstanceUID),
            str(seg.SeriesInstanceUID),
        )


def test_lists_seg_with_segments_colours_and_slices(seg_site: SegSite) -> None:
    r = seg_site.client.get(f"/api/v1/series/{seg_site.ct_uid}/segmentations")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["problems"] == []
    (item,) = body["items"]
    assert item["sop_instance_uid"] == seg_site.seg_sop
    assert item["series_uid"] == seg_site.seg_series
    assert item["segmentation_type"] == "BINARY"
    assert (item["rows"], item["columns"]) == (SIZE, SIZE)
    segs = {s["label"]: s for s in item["segments"]}
    assert segs["Lesion"]["color"] == "#ff0000"  # RecommendedDisplayCIELabValue "red"
    assert segs["Body"]["color"] == PALETTE[0]  # no colour in the SEG: the default palette
    assert segs["Lesion"]["property_type"] == "Lesion"
    sops = [str(ds.SOPInstanceUID) for ds in seg_site.ct]
    assert item["slices"] == {sop: ([1, 2] if i == 2 else [1]) for i, sop in enumerate(sops)}
    assert item["masks_url"] == f"/api/v1/segmentations/{seg_site.seg_sop}/masks"


def test_masks_of_one_slice_are_the_segmented_pixels(seg_site: SegSite) -> None:
    masks = square_masks()
    for i, ds in enumerate(seg_site.ct):
        r = seg_site.client.get(
            f"/api/v1/segmentations/{seg_site.seg_sop}/masks",
            params={"source": str(ds.SOPInstanceUID)},
        )
        assert r.status_code == 200, r.text
        got = {s["number"]: decode_runs(s["runs"]) for s in r.json()["segments"]}
        assert set(got) == ({1, 2} if i == 2 else {1})
        assert np.array_equal(got[1], masks["Body"][i])
        if i == 2:
            assert np.array_equal(got[2], masks["Lesion"][i])
            assert got[2].sum() == 16 and got[2][7, 9] and not got[2][5, 9]


def test_unrelated_series_and_seg_itself_have_no_overlays(seg_site: SegSite) -> None:
    for uid in (seg_site.other_uid, seg_site.seg_series):
        r = seg_site.client.get(f"/api/v1/series/{uid}/segmentations")
        assert r.status_code == 200 and r.json()["items"] == [], r.text


def test_bad_and_unknown_uids(seg_site: SegSite) -> None:
    c = seg_site.client
    ct_sop = str(seg_site.ct[0].SOPInstanceUID)
    assert c.get(f"/api/v1/series/{generate_uid()}/segmentations").status_code == 404
    assert c.get("/api/v1/series/not..a-uid/segmentations").status_code == 400
    masks = "/api/v1/segmentations/{}/masks"
    assert c.get(masks.format(generate_uid()), params={"source": ct_sop}).status_code == 404
    # a CT instance is no segmentation
    assert c.get(masks.format(ct_sop), params={"source": ct_sop}).status_code == 404
    r = c.get(masks.format(seg_site.seg_sop), params={"source": generate_uid()})
    assert r.status_code == 404 and "no instance" in r.json()["detail"]
    assert c.get(masks.format(seg_site.seg_sop), params={"source": "x/../y"}).status_code == 400
    assert c.get(masks.format(seg_site.seg_sop)).status_code == 422  # source is required


def test_frames_without_source_references_match_by_position(runtime: Runtime) -> None:
    """A SEG that only carries plane positions (no derivation references) is matched to
    the slices of the same frame of reference by ImagePositionPatient."""
    ct = list(make_series(SeriesSpec(slices=SLICES, size=SIZE, patient_id="SEG2")))
    for ds in ct:
        runtime.ingestor.ingest(dataset_bytes(ds))
    seg = make_segmentation(ct, square_masks())
    for groups in seg.PerFrameFunctionalGroupsSequence:
        del groups.DerivationImageSequence
    del seg.ReferencedSeriesSequence
    if "SourceImageSequence" in seg:
        del seg.SourceImageSequence
    runtime.ingestor.ingest(dataset_bytes(seg))
    with TestClient(create_app(runtime)) as c:
        (item,) = c.get(f"/api/v1/series/{ct[0].SeriesInstanceUID}/segmentations").json()["items"]
        assert item["slices"][str(ct[2].SOPInstanceUID)] == [1, 2]
        r = c.get(item["masks_url"], params={"source": str(ct[2].SOPInstanceUID)})
        got = {s["number"]: decode_runs(s["runs"]) for s in r.json()["segments"]}
        assert np.array_equal(got[2], square_masks()["Lesion"][2])


def test_undecodable_seg_is_a_problem_not_a_crash(runtime: Runtime) -> None:
    ct = list(make_series(SeriesSpec(slices=SLICES, size=SIZE, patient_id="SEG3")))
    for ds in ct:
        runtime.ingestor.ingest(dataset_bytes(ds))
    seg = make_segmentation(ct, square_masks())
    seg.NumberOfFrames = int(seg.NumberOfFrames) + 3  # frames and functional groups disagree
    runtime.ingestor.ingest(dataset_bytes(seg))
    with TestClient(create_app(runtime)) as c:
        r = c.get(f"/api/v1/series/{ct[0].SeriesInstanceUID}/segmentations")
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []
        (problem,) = r.json()["problems"]
        assert problem["sop_instance_uid"] == str(seg.SOPInstanceUID)
        assert "frames" in problem["detail"]
        m = c.get(
            f"/api/v1/segmentations/{seg.SOPInstanceUID}/masks",
            params={"source": str(ct[0].SOPInstanceUID)},
        )
        assert m.status_code == 400 and "frames" in m.json()["detail"]


def test_decoded_seg_is_cached_on_disk(seg_site: SegSite) -> None:
    c = seg_site.client
    assert c.get(f"/api/v1/series/{seg_site.ct_uid}/segmentations").status_code == 200
    files = list((seg_site.runtime.settings.data_dir / "segmentations").rglob("*.json"))
    assert len(files) == 1
    # a fresh app (empty memory cache) answers from the disk copy
    with TestClient(create_app(seg_site.runtime)) as fresh:
        r = fresh.get(f"/api/v1/series/{seg_site.ct_uid}/segmentations")
        assert (
            r.json()["items"][0]["slices"]
            == c.get(f"/api/v1/series/{seg_site.ct_uid}/segmentations").json()["items"][0]["slices"]
        )


def test_runs_and_colours() -> None:
    mask = np.array([[0, 1, 1, 0], [1, 1, 0, 1]], bool)
    assert runs_of(mask) == [1, 2, 4, 2, 7, 1]
    assert runs_of(np.zeros((2, 2), bool)) == []
    assert runs_of(np.ones((2, 2), bool)) == [0, 4]
    assert merge_runs([0, 2], [1, 3, 6, 1], 8) == [0, 4, 6, 1]
    assert dicom_lab_to_hex([65535, 32896, 32896]) == "#ffffff"
    assert dicom_lab_to_hex([0, 32896, 32896]) == "#000000"
    with pytest.raises(ValueError):
        dicom_lab_to_hex([1, 2])
