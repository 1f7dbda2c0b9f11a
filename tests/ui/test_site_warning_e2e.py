"""A data disk running out of space is shown above every page of the browser UI (from
/api/v1/health), in real Chromium, with a site whose data folder is on a 32 MB
filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import small_filesystem, start_jip
from tests.ui.browser import chromium_page

pytestmark = pytest.mark.slow


def test_low_disk_space_is_shown_on_every_page(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "disk", 32) as disk:
        jip = start_jip(disk / "data")
        try:
            with chromium_page() as page:
                for path in ("/", "/studies"):
                    page.goto(jip.url + path)
                    banner = page.get_by_test_id("site-warning")
                    banner.wait_for()
                    text = banner.inner_text()
                    assert "MB free of 32 MB" in text and str(disk / "data") in text
        finally:
            jip.stop()
