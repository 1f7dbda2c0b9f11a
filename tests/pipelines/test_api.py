"""REST API of pipelines in-process (TestClient over the real app and local engine)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec
from tests.pipelines.conftest import ingest


def _wait(client: TestClient, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = client.get(f"/api/v1/runs/{run_id}").json()
        if d["status"] in ("succeeded", "failed", "cancelled"):
            return d
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_algorithms_runs_results_logs(prt: Runtime) -> None:
    client = TestClient(create_app(prt))
    algos = {a["name"]: a for a in client.get("/api/v1/algorithms").json()}
    assert {"dicom-qa", "ct-body-seg", "volumetry"} <= set(algos)
    schema = algos["ct-body-seg"]["parameters"]
    assert schema["properties"]["body_threshold_hu"]["default"] == -500
    assert client.get("/api/v1/algorithms/nope").status_code == 404

    uids = [ingest(prt, SeriesSpec(slices=3, size=16)) for _ in range(2)]
    r = client.post("/api/v1/runs", json={"algorithm": "dicom-qa", "series_uids": uids,
                                          "params": {"min_slices": 2}})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["params"] == {"min_slices": 2, "spacing_tolerance": 0.1}
    assert run["progress"]["total"] == 2
    d = _wait(client, run["id"])
    assert d["status"] == "succeeded" and d["progress"]["succeeded"] == 2
    assert {j["series_uid"] for j in d["jobs"]} == set(uids)
    assert len(d["results"]) == 2
    body = client.get(d["results"][0]["download"])
    assert body.status_code == 200 and body.headers["content-type"] == "application/json"
    assert body.json()["series_uid"] in uids
    assert "passed" in client.get(f"/api/v1/runs/{run['id']}/logs").text
    job = d["jobs"][0]
    assert "staged 3 instances" in client.get(
        f"/api/v1/runs/{run['id']}/jobs/{job['id']}/logs").text
    listed = client.get("/api/v1/runs", params={"algorithm": "dicom-qa"}).json()
    assert [x["id"] for x in listed] == [run["id"]]
    assert client.get(f"/api/v1/runs/{run['id']}/results/999999").status_code == 404


def test_bad_requests(prt: Runtime) -> None:
    client = TestClient(create_app(prt))
    uid = ingest(prt, SeriesSpec(slices=2, size=16))
    r = client.post("/api/v1/runs", json={"algorithm": "ct-body-seg", "series_uids": [uid],
                                          "params": {"body_threshold_hu": "very"}})
    assert r.status_code == 422 and "body_threshold_hu" in r.json()["detail"]
    r = client.post("/api/v1/runs", json={"algorithm": "ct-body-seg", "series_uids": [uid],
                                          "params": {"bogus": 1}})
    assert r.status_code == 422 and "bogus" in r.json()["detail"]
    assert client.post("/api/v1/runs", json={"algorithm": "nope",
                                             "series_uids": [uid]}).status_code == 404
    assert client.post("/api/v1/runs", json={"algorithm": "dicom-qa",
                                             "series_uids": ["9.9.9"]}).status_code == 404
    assert client.post("/api/v1/runs", json={"algorithm": "dicom-qa"}).status_code == 400
    assert client.post("/api/v1/runs", json={"series_uids": [uid]}).status_code == 422
    assert client.get("/api/v1/runs/nope").status_code == 404
    assert client.post("/api/v1/runs/nope/cancel").status_code == 404


def test_cancel_retry_over_http(prt: Runtime) -> None:
    client = TestClient(create_app(prt))
    uid = ingest(prt, SeriesSpec(slices=2, size=16))
    run = client.post("/api/v1/runs", json={"algorithm": "test-trivial", "series_uids": [uid],
                                            "params": {"seconds": 30}}).json()
    c = client.post(f"/api/v1/runs/{run['id']}/cancel")
    assert c.status_code == 200 and c.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/runs/{run['id']}/cancel").status_code == 409
    # retry queues the cancelled job again, with the run's same parameters
    r = client.post(f"/api/v1/runs/{run['id']}/retry")
    assert r.status_code == 200 and r.json()["requeued"] == 1, r.text
    assert client.get(f"/api/v1/runs/{run['id']}").json()["status"] in ("queued", "running")
    assert client.post(f"/api/v1/runs/{run['id']}/cancel").json()["status"] == "cancelled"


def test_auto_trigger_on_completed_series(prt: Runtime) -> None:
    client = TestClient(create_app(prt))
    bad = client.post("/api/v1/pipeline-triggers",
                      json={"algorithm": "dicom-qa", "series_filter": {"colour": "red"}})
    assert bad.status_code == 400
    for flags in ({"min_instances": "3"}, {"min_instances": 0}, {"include_derived": "yes"}):
        odd = client.post("/api/v1/pipeline-triggers",
                          json={"algorithm": "dicom-qa", "series_filter": flags})
        assert odd.status_code == 400, (flags, odd.text)  # was stored, then broke matching
    t = client.post("/api/v1/pipeline-triggers", json={
        "algorithm": "dicom-qa", "series_filter": {"modality": "CT", "body_part": "chest"},
        "params": {"min_slices": 2}})
    assert t.status_code == 201, t.text
    ct = ingest(prt, SeriesSpec(slices=3, size=16, body_part="CHEST"))
    ingest(prt, SeriesSpec(slices=3, size=16, body_part="HEAD"))
    ingest(prt, SeriesSpec(modality="MR", slices=3, size=16, body_part="CHEST"))
    time.sleep(0.4)
    prt.series_events.check_now()  # the monitor's poll, without waiting for its thread
    runs = client.get("/api/v1/runs").json()
    assert len(runs) == 1 and runs[0]["trigger"] == f"auto:{t.json()['id']}"
    d = _wait(client, runs[0]["id"])
    assert d["status"] == "succeeded" and d["jobs"][0]["series_uid"] == ct
    assert client.delete(f"/api/v1/pipeline-triggers/{t.json()['id']}").status_code == 204
    assert client.get("/api/v1/pipeline-triggers").json() == []


def test_run_on_a_cohort(prt: Runtime) -> None:
    client = TestClient(create_app(prt))
    uids = [ingest(prt, SeriesSpec(slices=2, size=16)) for _ in range(3)]
    c = client.post("/api/v1/cohorts", json={"name": "three", "series_uids": uids})
    assert c.status_code == 201, c.text
    r = client.post("/api/v1/runs", json={"algorithm": "test-trivial",
                                          "cohort_id": str(c.json()["id"])})
    assert r.status_code == 201, r.text
    d = _wait(client, r.json()["id"])
    assert d["status"] == "succeeded" and d["cohort_id"] == str(c.json()["id"])
    assert {j["series_uid"] for j in d["jobs"]} == set(uids)
    missing = client.post("/api/v1/runs", json={"algorithm": "test-trivial",
                                                "cohort_id": "999999"})
    assert missing.status_code == 404
