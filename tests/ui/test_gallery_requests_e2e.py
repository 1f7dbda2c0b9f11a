"""The gallery's requests in real Chromium: the first page and a facet click ask for
their data once, with one /gallery request (the early requests from index.html and
from the click handler are taken, never repeated), and thumbnails are requested only
for cards near the viewport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jip.config import Settings
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series
from tests.conftest import JipProcess, start_jip
from tests.ui.browser import chromium_page

pytestmark = pytest.mark.slow

N_SERIES = 24


@pytest.fixture(scope="module")
def gallery_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JipProcess]:
    data = tmp_path_factory.mktemp("e2e-gallery") / "data"
    rt = Runtime(Settings(data_dir=data))
    try:
        for i in range(N_SERIES):
            spec = SeriesSpec(
                modality="CT" if i % 3 else "MR",
                slices=1,
                size=16,
                patient_id=f"GAL{i:03d}",
                description=f"Series {i}",
            )
            for ds in make_series(spec):
                rt.ingestor.ingest(dataset_bytes(ds))
    finally:
        rt.close()
    jip = start_jip(data)
    try:
        yield jip
    finally:
        jip.stop()


def kinds(urls: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for url in urls:
        path = url.split("?")[0]
        key = "thumbnail" if path.endswith("/thumbnail") else path.rsplit("/api/v1/", 1)[-1]
        out[key] = out.get(key, 0) + 1
    return out


def test_data_asked_once_and_thumbnails_only_near_viewport(gallery_site: JipProcess) -> None:
    with chromium_page(width=900, height=420) as page:
        seen: list[str] = []
        page.on("request", lambda r: seen.append(r.url))
        page.goto(gallery_site.url + "/")
        total = page.get_by_test_id("total")
        total.filter(has_text=f"{N_SERIES} series").wait_for()
        page.locator(".thumb.ok").first.wait_for()
        page.wait_for_load_state("networkidle")
        first = kinds(seen)
        assert first["gallery"] == 1 and "series" not in first and "facets" not in first, first
        # a short window shows one or two rows: the other cards' thumbnails wait
        assert 1 <= first["thumbnail"] < N_SERIES // 2, first
        assert page.locator(".thumb.waiting").count() > N_SERIES // 2

        # scrolling down brings the rest
        page.locator("[data-series-uid]").last.scroll_into_view_if_needed()
        page.locator("[data-series-uid]").last.locator(".thumb.ok").wait_for()
        assert kinds(seen)["thumbnail"] > first["thumbnail"]

        # a facet click: one /gallery request more, the new count shown
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_load_state("networkidle")
        before = kinds(seen)
        page.locator('[data-facet="modality"] label', has_text="MR").locator("input").check()
        total.filter(has_text=f"{N_SERIES // 3} series").wait_for()
        page.wait_for_load_state("networkidle")
        after = kinds(seen)
        assert after["gallery"] == before["gallery"] + 1, (before, after)
        assert "series" not in after and "facets" not in after, after

        # a deep link with a filter: the early requests match the gallery's, asked once
        seen.clear()
        page.goto(gallery_site.url + "/?modality=CT&sort=description")
        total.filter(has_text=f"{N_SERIES - N_SERIES // 3} series").wait_for()
        page.wait_for_load_state("networkidle")
        deep = kinds(seen)
        assert deep["gallery"] == 1 and "series" not in deep, deep
        first_title = page.locator("[data-series-uid] .card-title a").first.inner_text()
        assert first_title == "Series 1"  # sorted by description, MR series 0 filtered out
