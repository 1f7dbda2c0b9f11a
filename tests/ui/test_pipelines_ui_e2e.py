"""Pipeline pages end to end in real headless Chromium against a real ``jip up`` (local
engine, process runner) fed by dcmtk storescu: the run form generated from the schema,
client and server validation, a run watched to success, logs, downloads, the SEG result
opened in the viewer, cancel and retry, auto-triggers."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from jip.pipelines.registry import REPO_ALGORITHMS
from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, start_jip, tool_env
from tests.pipelines.conftest import TEST_ALGORITHMS
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

#: test-form: one parameter of every kind the run form generates
UI_ALGORITHMS = Path(__file__).resolve().parent / "algorithms"
PIPE_ENV = {
    "JIP_RUNNER": "process",
    "JIP_ALGORITHMS_DIRS": json.dumps(
        [str(REPO_ALGORITHMS), str(TEST_ALGORITHMS), str(UI_ALGORITHMS)]
    ),
    "JIP_PIPELINE_POLL_SECONDS": "0.2",
    "JIP_PIPELINE_WORKERS": "3",
}
SAMPLE = [
    SeriesSpec(modality="CT", patient_id="PIPE1", description="Chest CT", series_number=1),
    SeriesSpec(modality="CT", patient_id="PIPE2", description="Abdomen CT", series_number=1),
    SeriesSpec(modality="MR", patient_id="PIPE3", description="Brain T1", series_number=1),
]


@dataclass
class Site:
    jip: JipProcess
    uids: dict[str, str]  # description -> series UID
    cohort_id: int
    seg_run: str  # a ct-body-seg run started at set-up, so its SEG is ready when looked at

    @property
    def url(self) -> str:
        return self.jip.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("e2e-pipeui")
    jip = start_jip(tmp / "data", PIPE_ENV)
    try:
        files: list[Path] = []
        for i, spec in enumerate(SAMPLE):
            spec.slices, spec.size = 4, 32
            files += write_series(spec, tmp / f"s{i}")
        subprocess.run(
            ["storescu", "-aec", "JIP", "127.0.0.1", str(jip.dicom_port), *map(str, files)],
            check=True, env=tool_env(), timeout=60, capture_output=True,
        )
        deadline = time.monotonic() + 20
        while (items := httpx.get(f"{jip.url}/api/v1/series").json()["items"]) and len(
            items
        ) < len(SAMPLE):
            assert time.monotonic() < deadline, "ingested series did not appear"
            time.sleep(0.2)
        uids = {s["description"]: s["series_uid"] for s in items}
        cohort = httpx.post(f"{jip.url}/api/v1/cohorts", json={
            "name": "Pipeline cohort", "series_uids": list(uids.values())}).json()
        seg = httpx.post(f"{jip.url}/api/v1/runs", json={
            "algorithm": "ct-body-seg", "series_uids": [uids["Chest CT"]]})
        assert seg.status_code == 201, seg.text
        yield Site(jip, uids, cohort["id"], seg.json()["id"])
    finally:
        jip.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Debian Chromium for the module (a launch costs seconds on a loaded box)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context (cookies, storage, downloads) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()


def _runs(site: Site) -> list[dict[str, Any]]:
    return httpx.get(f"{site.url}/api/v1/runs").json()


def test_run_form_validate_run_logs_download(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/cohorts/{site.cohort_id}")
    page.get_by_role("link", name="Run on this cohort…").click()
    page.wait_for_url("**/runs/new?cohort=*")
    # ct-body-seg takes CT only: the MR of the cohort is flagged before anything is sent
    page.locator("select[name=algorithm]").select_option("ct-body-seg")
    warning = page.get_by_test_id("modality-warning")
    warning.filter(has_text="1 of 3 series").wait_for()
    page.locator("[name=only-accepted]").check()
    page.get_by_text("One job per series: 2 jobs").wait_for()
    page.locator("select[name=algorithm]").select_option("dicom-qa")
    warning.wait_for(state="detached")

    # fields generated from the schema, with their kinds and defaults
    fields = page.get_by_test_id("schema-fields")
    fields.get_by_test_id("field-min_slices").wait_for()
    assert page.get_by_test_id("field-min_slices").get_attribute("data-kind") == "integer"
    assert page.get_by_test_id("field-spacing_tolerance").get_attribute("data-kind") == (
        "number"
    )
    assert page.locator("[name=min_slices]").input_value() == "3"
    assert page.locator("[name=spacing_tolerance]").input_value() == "0.1"
    assert "≥ 1" in page.get_by_test_id("field-min_slices").inner_text()

    # the browser refuses a value below the minimum: nothing is sent
    runs_before = len(_runs(site))
    page.locator("[name=min_slices]").fill("0")
    page.get_by_role("button", name="Start run").click()
    page.get_by_test_id("field-min_slices").locator(".field-error").filter(
        has_text="must be at least 1").wait_for()
    page.get_by_test_id("form-invalid").wait_for()
    assert len(_runs(site)) == runs_before

    # as JSON the same value goes to the server, whose schema error is shown
    page.get_by_role("button", name="Edit as JSON").click()
    page.locator("[name=params-json]").fill('{"min_slices": 0, "spacing_tolerance": 0.1}')
    page.get_by_role("button", name="Start run").click()
    err = page.get_by_test_id("run-error")
    err.filter(has_text="invalid parameter min_slices").wait_for()
    assert "less than the minimum of 1" in err.inner_text()
    page.get_by_role("button", name="Edit as form").click()
    page.locator('[data-testid="field-min_slices"].invalid').wait_for()
    assert len(_runs(site)) == runs_before

    # a valid run: to its page, watched until every job succeeded
    page.locator("[name=min_slices]").fill("2")
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{16,}$"))
    run_id = page.url.rsplit("/", 1)[-1]
    page.locator("h1 [data-testid=status]", has_text="succeeded").wait_for(timeout=45_000)
    jobs = page.get_by_test_id("job-table").locator("tbody tr")
    assert jobs.count() == 3
    assert jobs.filter(has_text="succeeded").count() == 3
    assert "3 / 3 done" in page.get_by_test_id("progress").inner_text()
    assert "MR · Brain T1" in page.get_by_test_id("job-table").inner_text()
    assert httpx.get(f"{site.url}/api/v1/runs/{run_id}").json()["params"]["min_slices"] == 2

    # logs of one job
    row = jobs.filter(has_text=site.uids["Brain T1"])
    row.get_by_role("button", name="Logs", exact=True).click()
    log = page.get_by_test_id("log-text")
    log.filter(has_text="passed").wait_for()
    assert site.uids["Brain T1"] in log.inner_text()

    # download a JSON report attached to the run
    results = page.get_by_test_id("result-table").locator("tbody tr")
    assert results.count() == 3
    with page.expect_download() as dl:
        results.filter(has_text=site.uids["Brain T1"]).get_by_role(
            "link", name="Download").click()
    report = json.loads(Path(dl.value.path()).read_text())
    assert report["series_uid"] == site.uids["Brain T1"] and report["passed"] is True

    # the runs list shows it with its state and progress
    page.get_by_role("link", name="‹ All runs").click()
    listed = page.locator(f'tr[data-run-id="{run_id}"]')
    listed.filter(has_text="succeeded").wait_for()
    assert "3 / 3 done" in listed.inner_text()


def test_every_field_kind_checked_and_sent_typed(site: Site, page: Any) -> None:
    one = httpx.post(f"{site.url}/api/v1/cohorts", json={
        "name": "One MR", "series_uids": [site.uids["Brain T1"]]}).json()
    page.goto(f"{site.url}/runs/new?algorithm=test-form&cohort={one['id']}")
    page.get_by_test_id("field-extra").wait_for()
    kinds = {n: page.get_by_test_id(f"field-{n}").get_attribute("data-kind") for n in
             ["label", "mode", "count", "ratio", "smooth", "tags", "extra"]}
    assert kinds == {"label": "string", "mode": "enum", "count": "integer",
                     "ratio": "number", "smooth": "boolean", "tags": "array",
                     "extra": "json"}
    assert page.get_by_test_id("field-label").locator(".required").count() == 1
    assert page.get_by_test_id("field-ratio").locator(".required").count() == 0
    assert page.locator("[name=mode]").input_value() == '"fast"'
    assert page.locator("[name=ratio]").input_value() == "0.5"
    assert not page.locator("[name=smooth]").is_checked()

    runs_before = len(_runs(site))
    page.get_by_role("button", name="Start run").click()
    for name, msg in [("label", "is required"), ("count", "is required")]:
        page.get_by_test_id(f"field-{name}").locator(".field-error", has_text=msg).wait_for()
    bad = {"label": "ABC", "count": "9", "ratio": "0", "tags": "a, b, c, d", "extra": "{"}
    for name, value in bad.items():
        page.locator(f"[name={name}]").fill(value)
    page.get_by_role("button", name="Start run").click()
    for name, msg in [("label", "must match ^[a-z]+$"), ("count", "must be at most 5"),
                      ("ratio", "must be more than 0"), ("tags", "takes at most 3 values"),
                      ("extra", "is not valid JSON")]:
        page.get_by_test_id(f"field-{name}").locator(".field-error", has_text=msg).wait_for()
    assert len(_runs(site)) == runs_before

    good = {"label": "demo", "count": "2", "ratio": "0.25", "tags": "x, y",
            "extra": '{"k": 1}'}
    for name, value in good.items():
        page.locator(f"[name={name}]").fill(value)
    page.locator("[name=mode]").select_option(label="precise")
    page.locator("[name=smooth]").check()
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{16,}$"))
    run_id = page.url.rsplit("/", 1)[-1]
    page.locator("h1 [data-testid=status]", has_text="succeeded").wait_for(timeout=30_000)
    sent = {"label": "demo", "mode": "precise", "count": 2, "ratio": 0.25, "smooth": True,
            "tags": ["x", "y"], "extra": {"k": 1}}
    assert httpx.get(f"{site.url}/api/v1/runs/{run_id}").json()["params"] == sent

    results = page.get_by_test_id("result-table").locator("tbody tr")
    with page.expect_download() as dl:
        results.filter(has_text="CSV").get_by_role("link", name="Download").click()
    assert dl.value.suggested_filename == "table.csv"
    rows = Path(dl.value.path()).read_text().splitlines()
    assert rows == ["series_uid,files,label", f"{site.uids['Brain T1']},4,demo"]
    with page.expect_download() as dl:
        results.filter(has_text="params.json").get_by_role("link", name="Download").click()
    assert json.loads(Path(dl.value.path()).read_text()) == sent


def test_seg_result_opens_in_viewer(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/runs/{site.seg_run}")
    page.locator("h1 [data-testid=status]", has_text="succeeded").wait_for(timeout=60_000)
    overlay = page.get_by_test_id("result-table").get_by_role("link", name="Overlay on source")
    assert overlay.get_attribute("href") == f"/series/{site.uids['Chest CT']}"
    link = page.get_by_test_id("result-table").get_by_role("link", name="Open in viewer")
    seg_uid = link.get_attribute("href").rsplit("/", 1)[-1]  # type: ignore[union-attr]
    series = httpx.get(f"{site.url}/api/v1/series/{seg_uid}").json()["series"]
    assert series["modality"] == "SEG"
    link.click()
    page.wait_for_url(f"**/series/{seg_uid}")
    page.get_by_test_id("viewport").wait_for()


def test_cancel_and_retry(site: Site, page: Any) -> None:
    r = httpx.post(f"{site.url}/api/v1/runs", json={
        "algorithm": "test-trivial", "series_uids": [site.uids["Abdomen CT"]],
        "params": {"seconds": 60}})
    run_id = r.json()["id"]
    page.goto(f"{site.url}/runs/{run_id}")
    status = page.locator("h1 [data-testid=status]")
    status.filter(has_text="running").wait_for()  # the page polls: queued -> running
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Cancel run").click()
    status.filter(has_text="cancelled").wait_for()
    page.get_by_test_id("job-table").locator("tbody tr").filter(
        has_text="cancelled").wait_for()
    assert not page.get_by_role("button", name="Cancel run").is_visible()
    page.get_by_test_id("job-filter").get_by_role("button", name="cancelled (1)").click()
    assert page.get_by_test_id("job-table").locator("tbody tr").count() == 1

    page.get_by_role("button", name="Retry failed jobs").click()
    page.get_by_test_id("run-msg").filter(has_text="1 job queued again").wait_for()
    status.filter(has_text=r"running").or_(status.filter(has_text="queued")).wait_for()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Cancel run").click()
    status.filter(has_text="cancelled").wait_for()
    assert httpx.get(f"{site.url}/api/v1/runs/{run_id}").json()["status"] == "cancelled"


def test_algorithms_page_and_triggers(site: Site, page: Any) -> None:
    page.goto(site.url + "/")
    page.get_by_role("link", name="Algorithms").click()
    card = page.locator('[data-algorithm="dicom-qa"]')
    card.wait_for()
    assert "CT, MR, PT" in card.get_by_test_id("inputs").inner_text()
    assert "report: JSON" in card.get_by_test_id("outputs").inner_text()
    assert "0.5 CPU · 256Mi memory" in card.get_by_test_id("resources").inner_text()
    assert "spacing_tolerance" in card.inner_text()

    page.get_by_role("link", name="Triggers").click()
    page.get_by_test_id("empty").filter(has_text="No triggers").wait_for()
    page.locator("select[name=trigger-algorithm]").select_option("dicom-qa")
    page.locator("[name=filter-modality]").fill("CT, MR")
    page.locator("[name=filter-description]").fill("*chest*")
    page.locator("[name=min_slices]").fill("0")  # checked like the run form
    page.get_by_role("button", name="Add trigger").click()
    page.locator(".field-error", has_text="must be at least 1").wait_for()
    page.locator("[name=min_slices]").fill("4")
    page.get_by_role("button", name="Add trigger").click()
    row = page.get_by_test_id("trigger-table").locator("tbody tr")
    row.filter(has_text="dicom-qa").wait_for()
    assert "modality ∈ {CT, MR}" in row.inner_text()
    [trig] = httpx.get(f"{site.url}/api/v1/pipeline-triggers").json()
    assert trig["series_filter"] == {"modality": ["CT", "MR"], "description": "*chest*"}
    assert trig["params"]["min_slices"] == 4

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Delete").click()
    page.get_by_test_id("empty").filter(has_text="No triggers").wait_for()
    assert httpx.get(f"{site.url}/api/v1/pipeline-triggers").json() == []


def test_error_and_empty_states(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/runs/0123456789abcdef")
    page.get_by_test_id("error").filter(has_text="no run").wait_for()

    def fail(route: Any) -> None:
        route.fulfill(status=500, content_type="application/json",
                      body='{"detail": "run table exploded"}')

    page.route("**/api/v1/runs?*", fail)
    page.goto(f"{site.url}/runs")
    err = page.get_by_test_id("error").filter(has_text="run table exploded")
    err.wait_for()
    page.unroute("**/api/v1/runs?*", fail)
    err.get_by_role("button", name="Retry").click()
    page.get_by_test_id("run-table").wait_for()

    page.locator("select[name=status]").select_option("failed")  # no run here fails
    page.get_by_test_id("empty").filter(has_text="No runs failed").wait_for()
    assert "status=failed" in page.url
