"""Screenshots of the pipeline pages for the docs: a small synthetic archive, `jip up`
with the process runner (no container engine needed), a cohort, the run form and a
finished dicom-qa run with a job log open, in headless Chromium.

    .venv/bin/python benchmarks/pipelines_screenshot.py
    # writes docs/pipelines.png (run page) and docs/pipelines-form.png (run form)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jip.config import Settings  # noqa: E402
from jip.pipelines.registry import REPO_ALGORITHMS  # noqa: E402
from jip.runtime import Runtime  # noqa: E402
from jip.synthetic import SeriesSpec, dataset_bytes, make_series  # noqa: E402
from tests.conftest import start_jip  # noqa: E402
from tests.ui.browser import chromium_page  # noqa: E402

SERIES = [
    ("CT", "CHEST", "Thorax 1mm"),
    ("CT", "CHEST", "Lung low dose"),
    ("CT", "ABDOMEN", "Abdomen venous"),
    ("MR", "HEAD", "T1 axial"),
    ("MR", "HEAD", "T2 flair"),
]


def ingest_demo(data: Path) -> None:
    rt = Runtime(Settings(data_dir=data))
    try:
        for i, (mod, body, desc) in enumerate(SERIES):
            spec = SeriesSpec(modality=mod, body_part=body, description=desc, slices=8,
                              size=48, patient_id=f"DEMO{i:03d}", series_number=i + 1)
            for ds in make_series(spec):
                rt.ingestor.ingest(dataset_bytes(ds))
    finally:
        rt.close()


def main() -> None:
    docs = ROOT / "docs"
    env = {"JIP_RUNNER": "process", "JIP_ALGORITHMS_DIRS": json.dumps([str(REPO_ALGORITHMS)]),
           "JIP_PIPELINE_POLL_SECONDS": "0.2"}
    with tempfile.TemporaryDirectory(prefix="jip-pipe-shot-") as tmp:
        data = Path(tmp) / "data"
        ingest_demo(data)
        jip = start_jip(data, env)
        try:
            uids = [s["series_uid"] for s in httpx.get(f"{jip.url}/api/v1/series").json()["items"]]
            cohort = httpx.post(f"{jip.url}/api/v1/cohorts", json={
                "name": "Demo cohort", "owner": "research", "series_uids": uids}).json()
            with chromium_page(1400, 900) as page:
                page.goto(f"{jip.url}/runs/new?cohort={cohort['id']}&algorithm=dicom-qa")
                page.locator("[name=min_slices]").fill("0")
                page.get_by_role("button", name="Start run").click()
                page.get_by_test_id("form-invalid").wait_for()
                page.screenshot(path=str(docs / "pipelines-form.png"))
                page.locator("[name=min_slices]").fill("4")
                page.get_by_role("button", name="Start run").click()
                page.locator("h1 [data-testid=status]", has_text="succeeded").wait_for(
                    timeout=120_000)
                page.get_by_role("button", name="Logs", exact=True).nth(3).click()
                page.get_by_test_id("log-text").filter(has_text="passed").wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(docs / "pipelines.png"), full_page=True)
        finally:
            jip.stop()
    print(f"wrote {docs / 'pipelines.png'} and {docs / 'pipelines-form.png'}")


if __name__ == "__main__":
    main()
