"""Screenshots for the docs: a small synthetic archive ingested through the real ingest
path, `jip up` on it, headless Chromium on the gallery and the viewer.

    .venv/bin/python benchmarks/ui_screenshot.py
    # writes docs/gallery.png, docs/viewer.png and docs/viewer-seg.png (SEG overlays)
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jip.config import Settings  # noqa: E402
from jip.runtime import Runtime  # noqa: E402
from jip.synthetic import SeriesSpec, dataset_bytes, make_series  # noqa: E402
from jip.synthetic_seg import make_segmentation, phantom_masks  # noqa: E402
from tests.conftest import start_jip  # noqa: E402
from tests.ui.browser import chromium_page  # noqa: E402

KINDS = [
    ("CT", "CHEST", "Thorax 1mm", 1.0),
    ("CT", "CHEST", "Lung low dose", 2.5),
    ("CT", "ABDOMEN", "Abdomen venous", 5.0),
    ("MR", "HEAD", "T1 axial", 3.0),
    ("MR", "HEAD", "T2 flair", 4.0),
    ("CT", "HEAD", "Head plain", 5.0),
]
VENDORS = [
    ("SIEMENS", "SOMATOM Force"),
    ("GE MEDICAL SYSTEMS", "Revolution"),
    ("Philips", "Ingenia"),
]


def ingest_demo(data: Path, n_series: int = 36) -> None:
    rng = random.Random(3)
    rt = Runtime(Settings(data_dir=data))
    try:
        for i in range(n_series):
            mod, body, desc, thick = KINDS[i % len(KINDS)]
            vendor, model = rng.choice(VENDORS)
            spec = SeriesSpec(
                modality=mod,
                slices=8,
                size=96,
                patient_id=f"DEMO{i // 3:03d}",
                patient_name=f"Demo^Patient{i // 3}",
                patient_sex=rng.choice("MF"),
                birth_date=f"{rng.randint(1940, 2000)}0101",
                study_date=f"{rng.randint(2015, 2025)}{rng.randint(1, 12):02d}15",
                series_number=i % 3 + 1,
                description=desc,
                body_part=body,
                manufacturer=vendor,
                model=model,
                institution=rng.choice(["University Hospital A", "City Clinic B"]),
                slice_thickness=thick,
            )
            for ds in make_series(spec):
                rt.ingestor.ingest(dataset_bytes(ds))
    finally:
        rt.close()


def ingest_seg_demo(data: Path) -> str:
    """A chest CT with a body/lung/lesion SEG (as ct-body-seg would write); its UID."""
    rt = Runtime(Settings(data_dir=data))
    try:
        spec = SeriesSpec(
            slices=12, size=256, patient_id="DEMOSEG", description="Thorax (segmented)"
        )
        ct = list(make_series(spec))
        for ds in ct:
            rt.ingestor.ingest(dataset_bytes(ds))
        seg = make_segmentation(
            ct,
            phantom_masks(ct),
            colors={"Body": "royalblue", "Lung": "limegreen", "Lesion": "red"},
            description="Body segmentation (JIP)",
        )
        rt.ingestor.ingest(dataset_bytes(seg))
        return str(ct[0].SeriesInstanceUID)
    finally:
        rt.close()


def main() -> None:
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory(prefix="jip-ui-shot-") as tmp:
        data = Path(tmp) / "data"
        ingest_demo(data)
        seg_source = ingest_seg_demo(data)
        jip = start_jip(data)
        try:
            with chromium_page(1400, 860) as page:
                page.goto(jip.url + "/?modality=CT")
                page.get_by_test_id("total").filter(has_text="series").wait_for()
                page.locator(".thumb.ok").nth(11).wait_for()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(docs / "gallery.png"))
                page.locator("[data-series-uid] .card-title a").first.click()
                page.locator('[data-testid="viewport"][data-status="loaded"]').wait_for()
                page.get_by_role("button", name="CT lung").click()
                page.wait_for_timeout(300)
                page.screenshot(path=str(docs / "viewer.png"))
                page.goto(f"{jip.url}/series/{seg_source}")
                page.locator('[data-testid="viewport"][data-status="loaded"]').wait_for()
                page.locator('[data-testid="seg-overlay"][data-state="ready"]').wait_for()
                page.get_by_role("button", name="CT lung").click()
                page.wait_for_timeout(300)
                page.screenshot(path=str(docs / "viewer-seg.png"))
        finally:
            jip.stop()
    print(f"wrote {docs / 'gallery.png'}, {docs / 'viewer.png'} and {docs / 'viewer-seg.png'}")


if __name__ == "__main__":
    main()
