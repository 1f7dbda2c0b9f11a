"""SEG overlays end to end: a CT series and a SEG built by highdicom, sent with dcmtk
storescu to a real ``jip up``, shown in Debian Chromium; the test reads the overlay
canvas and a screenshot to see the segment really drawn on the right slice."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from jip.synthetic import SeriesSpec, make_series
from jip.synthetic_seg import make_segmentation
from tests.conftest import JipProcess, start_jip, tool_env
from tests.ui.browser import chromium_page

pytestmark = pytest.mark.slow

SIZE, SLICES, LESION_SLICE = 32, 5, 3  # the viewer opens on slice index 2; lesion on 3
LESION = (slice(12, 20), slice(16, 24))  # rows, cols: an 8x8 square
LESION_CENTRE = (16, 20)  # row, col inside it
BODY_ONLY = (8, 6)  # inside the body band, outside the lesion


@dataclass
class SegE2E:
    jip: JipProcess
    ct_uid: str
    sops: list[str]


@pytest.fixture(scope="module")
def seg_e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SegE2E]:
    tmp = tmp_path_factory.mktemp("e2e-seg")
    ct = list(make_series(SeriesSpec(slices=SLICES, size=SIZE, patient_id="SEGE2E")))
    body = np.zeros((SLICES, SIZE, SIZE), bool)
    body[:, 4:28, 2:30] = True
    lesion = np.zeros_like(body)
    lesion[(LESION_SLICE, *LESION)] = True
    seg = make_segmentation(
        ct, {"Body": body, "Lesion": lesion}, colors={"Body": "blue", "Lesion": "red"}
    )
    files = []
    for ds in [*ct, seg]:
        path = tmp / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(str(path))
    jip = start_jip(tmp / "data")
    try:
        subprocess.run(
            ["storescu", "-R", "-aec", "JIP", "127.0.0.1", str(jip.dicom_port), *files],
            check=True,
            env=tool_env(),
            timeout=60,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while httpx.get(f"{jip.url}/api/v1/series").json()["total"] < 2:
            assert time.monotonic() < deadline, "ingested series did not appear"
            time.sleep(0.2)
        # the SEG was decoded when its series completed, before any viewer asked
        while not list((tmp / "data" / "segmentations").rglob("*.json")):
            assert time.monotonic() < deadline + 20, "SEG was not pre-decoded"
            time.sleep(0.2)
        yield SegE2E(jip, str(ct[0].SeriesInstanceUID), [str(d.SOPInstanceUID) for d in ct])
    finally:
        jip.stop()


def overlay_rgba(page: Any, row: int, col: int) -> list[int]:
    """The overlay canvas' own pixel (before CSS opacity) at (row, col)."""
    return page.get_by_test_id("seg-overlay").evaluate(
        "(c, [r, k]) => Array.from(c.getContext('2d').getImageData(k, r, 1, 1).data)", [row, col]
    )


def screen_rgb(page: Any, row: int, col: int) -> tuple[int, int, int]:
    """What the screen shows at image pixel (row, col): image and overlay composited."""
    box = page.locator(".stage canvas").first.bounding_box()
    shot = Image.open(BytesIO(page.screenshot())).convert("RGB")
    x = box["x"] + (col + 0.5) * box["width"] / SIZE
    y = box["y"] + (row + 0.5) * box["height"] / SIZE
    r, g, b = shot.getpixel((int(x), int(y)))  # type: ignore[misc]
    return r, g, b


def wait_overlay(page: Any, sop: str, state: str = "ready") -> None:
    page.locator(
        f'[data-testid="seg-overlay"][data-source-sop="{sop}"][data-state="{state}"]'
    ).wait_for()


def test_viewer_draws_seg_on_the_right_slice(seg_e2e: SegE2E) -> None:
    with chromium_page() as page:
        page.goto(f"{seg_e2e.jip.url}/series/{seg_e2e.ct_uid}")
        label = page.get_by_test_id("slice-label")
        label.filter(has_text=f"3 / {SLICES}").wait_for()
        legend = page.get_by_test_id("seg-panel")
        legend.wait_for()
        assert legend.locator("[data-segment]").all_inner_texts()[0].startswith("Body")
        swatches = legend.locator(".swatch").evaluate_all(
            "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
        assert swatches == ["rgb(0, 0, 255)", "rgb(255, 0, 0)"]  # colours of the SEG
        page.locator('[data-testid="viewport"][data-status="loaded"]').wait_for()

        # slice 3: only the body (blue) is drawn, nothing at the lesion's place
        wait_overlay(page, seg_e2e.sops[2])
        assert overlay_rgba(page, *BODY_ONLY) == [0, 0, 255, 255]
        assert overlay_rgba(page, *LESION_CENTRE) == [0, 0, 255, 255]

        # the slider shows a tick for every slice with a segment (the body: all of them)
        marks = page.locator('[data-testid="slice-marks"] .mark')
        assert marks.count() == SLICES
        assert marks.nth(LESION_SLICE).evaluate("e => e.style.background") == "rgb(255, 0, 0)"

        # overlays off: the canvas is empty and the screen shows plain grey
        page.get_by_test_id("seg-toggle").uncheck()
        wait_overlay(page, seg_e2e.sops[2], "off")
        assert overlay_rgba(page, *BODY_ONLY) == [0, 0, 0, 0]
        assert marks.count() == 0
        page.wait_for_timeout(100)
        r, g, b = screen_rgb(page, *LESION_CENTRE)
        assert abs(r - b) < 10 and abs(g - b) < 10, (r, g, b)

        # on again, scroll to the lesion's slice: red on the screen there, blue beside it
        page.get_by_test_id("seg-toggle").check()
        page.get_by_test_id("viewport").hover()
        page.mouse.wheel(0, 120)
        label.filter(has_text=f"4 / {SLICES}").wait_for()
        wait_overlay(page, seg_e2e.sops[LESION_SLICE])
        page.locator('[data-testid="viewport"][data-status="loaded"]').wait_for()
        assert overlay_rgba(page, *LESION_CENTRE) == [255, 0, 0, 255]
        assert overlay_rgba(page, *BODY_ONLY) == [0, 0, 255, 255]
        painted = int(page.get_by_test_id("seg-overlay").get_attribute("data-painted") or 0)
        assert painted == 24 * 28  # the body band; the lesion lies inside it
        page.wait_for_timeout(100)
        r, g, b = screen_rgb(page, *LESION_CENTRE)
        assert r > g + 60 and r > b + 60, (r, g, b)
        r, g, b = screen_rgb(page, *BODY_ONLY)
        assert b > r + 60 and b > g + 60, (r, g, b)

        # the Lesion toggle hides just that segment
        page.get_by_label("segment Lesion").uncheck()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=seg-overlay]')"
            ".getContext('2d').getImageData(20, 16, 1, 1).data[2] === 255"
        )
        assert overlay_rgba(page, *LESION_CENTRE) == [0, 0, 255, 255]
        page.get_by_label("segment Lesion").check()

        # back to slice 2 with the keys: no lesion there
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowUp")
        label.filter(has_text=f"2 / {SLICES}").wait_for()
        wait_overlay(page, seg_e2e.sops[1])
        assert overlay_rgba(page, *LESION_CENTRE) == [0, 0, 255, 255]

        # "go" jumps to the lesion's slice
        page.locator('[data-segment="Lesion"]').get_by_role("button", name="go").click()
        label.filter(has_text=f"4 / {SLICES}").wait_for()


def test_viewer_without_segmentations_says_so(seg_e2e: SegE2E) -> None:
    seg_uid = next(
        s["series_uid"]
        for s in httpx.get(f"{seg_e2e.jip.url}/api/v1/series").json()["items"]
        if s["modality"] == "SEG"
    )
    with chromium_page() as page:
        page.goto(f"{seg_e2e.jip.url}/series/{seg_uid}")
        page.get_by_test_id("seg-none").wait_for()
        assert page.get_by_test_id("seg-overlay").count() == 0
