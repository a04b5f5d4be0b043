"""The demo map in a real browser with no network: no script errors, no missing assets.

Skips when Chromium or Playwright is missing (`.ci/run` installs Debian's chromium when it can).
Playwright drives the system Chromium; it never downloads a browser.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
TILE_HOSTS = ("tile.openstreetmap.org", "tianditu.gov.cn", "autonavi.com")


def test_map_works_offline_in_chromium(demo_out: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    failed: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        # no network at all: only the page itself and inline data may load
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:"))
                else route.abort()
            ),
        )
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and "Failed to load resource" not in msg.text
                else None
            ),
        )
        page.on("requestfailed", lambda req: failed.append(req.url))
        page.goto((demo_out / "map.html").resolve().as_uri())
        page.wait_for_timeout(1500)
        sites = page.locator(".siting-site").count()
        layers = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        shapes = page.locator("path.leaflet-interactive").count()
        notice = page.locator("#siting-tile-notice").count()
        page.screenshot(path=str(demo_out / "map_screenshot.png"))
        browser.close()
    assert errors == []
    assert [u for u in failed if not any(h in u for h in TILE_HOSTS)] == []  # only tiles failed
    assert sites == 10  # the proposed sites, numbered
    assert any("社区/村覆盖率（规划后）" in t for t in layers)
    assert any("建议新建站点" in t for t in layers)
    assert any("一刻钟" in t for t in layers)
    assert shapes > 100
    assert notice == 1  # the map says the base tiles need a network
    assert (demo_out / "map_screenshot.png").stat().st_size > 10_000


def test_legend_folds_away(demo_out: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context().new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:"))
                else route.abort()
            ),
        )
        page.goto((demo_out / "map.html").resolve().as_uri())
        legend = page.locator("#siting-legend")
        assert legend.get_attribute("open") is not None
        tall = legend.bounding_box()["height"]
        page.locator("#siting-legend summary").click()
        assert legend.get_attribute("open") is None
        assert legend.bounding_box()["height"] < tall / 3  # folded to its one-line summary
        browser.close()
