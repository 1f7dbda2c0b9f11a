"""End to end in real headless Chromium against a real ``jip up`` fed by dcmtk storescu:
filter CT, count, save a cohort, reload, find it, open the viewer and scroll."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jip.synthetic import SeriesSpec, write_series
from tests.conftest import JipProcess, start_jip, tool_env
from tests.ui.browser import chromium_page

pytestmark = pytest.mark.slow

SAMPLE = [
    SeriesSpec(modality="CT", patient_id="E2E1", description="Chest CT", series_number=1),
    SeriesSpec(
        modality="CT",
        patient_id="E2E1",
        description="Chest CT thin",
        series_number=2,
        slice_thickness=1.0,
    ),
    SeriesSpec(
        modality="CT",
        patient_id="E2E2",
        description="Abdomen CT",
        body_part="ABDOMEN",
        study_date="20230510",
        series_number=1,
    ),
    SeriesSpec(
        modality="MR",
        patient_id="E2E3",
        description="Brain T1",
        body_part="HEAD",
        study_date="20220301",
        series_number=1,
    ),
    SeriesSpec(
        modality="MR",
        patient_id="E2E3",
        description="Brain T2",
        body_part="HEAD",
        study_date="20220301",
        series_number=2,
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JipProcess]:
    tmp = tmp_path_factory.mktemp("e2e-ui")
    jip = start_jip(tmp / "data")
    try:
        files: list[Path] = []
        for i, spec in enumerate(SAMPLE):
            spec.slices, spec.size = 5, 32
            files += write_series(spec, tmp / f"s{i}")
        subprocess.run(
            ["storescu", "-aec", "JIP", "127.0.0.1", str(jip.dicom_port), *map(str, files)],
            check=True,
            env=tool_env(),
            timeout=60,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while httpx.get(f"{jip.url}/api/v1/series").json()["total"] < len(SAMPLE):
            assert time.monotonic() < deadline, "ingested series did not appear"
            time.sleep(0.2)
        yield jip
    finally:
        jip.stop()


def test_filter_save_reload_view(site: JipProcess, tmp_path: Path) -> None:
    with chromium_page() as page:
        page.goto(site.url + "/")
        total = page.get_by_test_id("total")
        total.filter(has_text="5 series").wait_for()
        assert "Loading JIP" not in page.content()  # the static placeholder was replaced

        page.locator('[data-facet="modality"] label', has_text="CT").locator("input").check()
        total.filter(has_text="3 series").wait_for()
        assert "modality=CT" in page.url
        assert page.locator("[data-series-uid]").count() == 3
        page.locator(".thumb.ok img").first.wait_for()  # a real PNG thumbnail arrived
        assert page.get_by_test_id("count-modality-MR").inner_text() == "2"

        page.get_by_role("button", name="Save as cohort").click()
        page.locator('input[name="name"]').fill("E2E CT cohort")
        page.locator('textarea[name="description"]').fill("made by the browser test")
        page.locator('input[name="owner"]').fill("tester")
        page.get_by_role("button", name="Save cohort").click()
        page.get_by_test_id("saved").filter(has_text="3 series").wait_for()

        page.reload()
        total.filter(has_text="3 series").wait_for()  # the URL kept the filter
        page.get_by_role("link", name="Cohorts").click()
        row = page.locator("tr", has_text="E2E CT cohort")
        row.wait_for()
        assert re.search(r"tester\s+3", row.inner_text())

        row.get_by_role("link", name="Open in gallery").click()
        page.get_by_test_id("cohort-chip").wait_for()
        total.filter(has_text="3 series").wait_for()

        page.locator("[data-series-uid] .card-title a").first.click()
        label = page.get_by_test_id("slice-label")
        label.filter(has_text="3 / 5").wait_for()
        viewport = page.get_by_test_id("viewport")
        viewport.hover()
        page.mouse.wheel(0, 120)
        label.filter(has_text="4 / 5").wait_for()
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowUp")
        label.filter(has_text="2 / 5").wait_for()
        assert viewport.get_attribute("data-slice") == "2"
        # the slice came over WADO-RS and was decoded by dicom-parser into the canvas
        page.locator('[data-testid="viewport"][data-status="loaded"]').wait_for()
        assert page.locator(".stage canvas").evaluate("c => c.width") == 32
        page.get_by_test_id("metadata").filter(has_text="InstanceNumber").wait_for()
        page.get_by_role("button", name="CT lung").click()
        page.locator(".corner.tr", has_text="W 1500 L -600").wait_for()


def test_server_error_is_shown_not_blank(site: JipProcess) -> None:
    with chromium_page() as page:
        page.route(
            "**/api/v1/gallery?*",  # the gallery's one request (series + facets)
            lambda route: route.fulfill(
                status=500, content_type="application/json", body='{"detail": "index exploded"}'
            ),
        )
        page.goto(site.url + "/?modality=CT")
        err = page.get_by_test_id("error")
        err.wait_for()
        assert "index exploded" in err.inner_text()
        assert page.get_by_role("button", name="Retry").is_visible()
        page.goto(site.url + "/patients/NOBODY")
        page.get_by_test_id("error").filter(has_text="no patient").wait_for()


def test_cohort_page_export_remove_delete(site: JipProcess) -> None:
    uids = [s["series_uid"] for s in httpx.get(f"{site.url}/api/v1/series").json()["items"]]
    r = httpx.post(f"{site.url}/api/v1/cohorts", json={"name": "E2E pick", "series_uids": uids[:2]})
    cid = r.json()["id"]
    with chromium_page() as page:
        page.goto(f"{site.url}/cohorts/{cid}")
        page.get_by_role("heading", name="E2E pick").wait_for()
        with page.expect_download() as dl:
            page.get_by_role("link", name="Export CSV").click()
        csv_text = Path(dl.value.path()).read_text()
        assert csv_text.splitlines()[0].startswith("series_uid,") and uids[0] in csv_text
        page.get_by_role("button", name="Remove").first.click()
        page.locator("p.muted", has_text="1 series").wait_for()

        page.once("dialog", lambda d: d.dismiss())  # "no": nothing happens
        page.get_by_role("button", name="Delete cohort").click()
        page.wait_for_timeout(300)
        assert httpx.get(f"{site.url}/api/v1/cohorts/{cid}").status_code == 200
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="Delete cohort").click()
        page.wait_for_url(f"{site.url}/cohorts")
        assert httpx.get(f"{site.url}/api/v1/cohorts/{cid}").status_code == 404


def test_studies_list_and_patient_timeline(site: JipProcess) -> None:
    with chromium_page() as page:
        page.goto(site.url + "/studies")
        page.get_by_test_id("study-total").filter(has_text="5 studies").wait_for()
        page.locator('input[name="q"]').fill("E2E3")
        page.get_by_role("button", name="Search").click()
        page.get_by_test_id("study-total").filter(has_text="2 studies").wait_for()
        assert "q=E2E3" in page.url
        page.get_by_role("link", name="E2E3").first.click()
        timeline = page.get_by_test_id("timeline")
        timeline.wait_for()
        assert timeline.locator(":scope > li").count() == 2
