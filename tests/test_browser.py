"""The demo map in a real browser with no network: no script errors, no missing assets, and
names from the data that stay text (``DESIGN.md``, "Text from data is inert").

Skips when Chromium or Playwright is missing (`.ci/run` installs Debian's chromium when it can).
Playwright drives the system Chromium; it never downloads a browser.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from siting.cli import main
from tests.data.hostile import FACILITY_TYPE, PREFIXES, rewrite_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
TILE_HOSTS = ("tile.openstreetmap.org", "tianditu.gov.cn", "autonavi.com")


def _offline_page(pw: Any) -> tuple[Any, Any]:
    """The system Chromium with no network at all: only the page and inline data may load."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
        ),
    )
    return browser, context.new_page()


def test_map_works_offline_in_chromium(demo_out: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    failed: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser, page = _offline_page(pw)
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
        collapsed = page.locator(".leaflet-control-layers-expanded").count() == 0
        hidden = not page.locator(".leaflet-control-layers-overlays").is_visible()
        shapes = page.locator("path.leaflet-interactive").count()
        notice = page.locator("#siting-tile-notice").count()
        circles = page.evaluate(UNCOVERED_CIRCLES)
        view = page.evaluate(VIEW)
        page.locator("a.siting-whole").click()
        page.wait_for_timeout(600)
        whole_view = page.evaluate(VIEW)
        page.screenshot(path=str(demo_out / "map_screenshot.png"))
        page.locator(".leaflet-control-layers").hover()  # the control opens on hover
        layers = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        browser.close()
    assert errors == []
    assert [u for u in failed if not any(h in u for h in TILE_HOSTS)] == []  # only tiles failed
    assert sites == 10  # the proposed sites, numbered
    assert collapsed
    assert hidden
    assert any("社区/村覆盖率（规划后）" in t for t in layers)
    assert any("服务圈外的老人（规划后）" in t for t in layers)
    # one circle per 社区/村 with elderly still outside every circle, sized by their number
    comm = pd.read_csv(demo_out / "coverage_by_community.csv", encoding="utf-8-sig")
    left = comm["elderly"] - comm["covered_after"]
    assert circles["count"] == int((left >= 0.5).sum()) > 0
    assert circles["smallest"] < circles["largest"] <= 18
    assert all("服务圈外的老人" in t for t in circles["tips"])
    # the view opens on the 社区 where most elderly live; 全区 shows the whole district
    assert view["zoom"] > whole_view["zoom"]
    assert not view["holds_district"]
    assert whole_view["holds_district"]
    assert any("建议新建站点" in t for t in layers)
    assert any("一刻钟" in t for t in layers)
    assert shapes > 100
    assert notice == 1  # the map says the base tiles need a network
    assert (demo_out / "map_screenshot.png").stat().st_size > 10_000


UNCOVERED_CIRCLES = """() => {
    const key = Object.keys(window).find((k) => k.startsWith('map_') && window[k] instanceof L.Map);
    const radii = [], tips = [];
    window[key].eachLayer((layer) => {
        const p = layer.feature && layer.feature.properties;
        if (p && typeof p.radius === 'number') {
            radii.push(layer.getRadius());
            tips.push(layer.getTooltip().getContent());
        }
    });
    return {count: radii.length, smallest: Math.min(...radii), largest: Math.max(...radii),
            tips: tips};
}"""

VIEW = """() => {
    const key = Object.keys(window).find((k) => k.startsWith('map_') && window[k] instanceof L.Map);
    const map = window[key];
    let district = null;
    map.eachLayer((layer) => {
        if (layer.feature && layer.getBounds && layer.feature.geometry.type !== 'Point') {
            district = district ? district.extend(layer.getBounds()) : L.latLngBounds(
                layer.getBounds().getSouthWest(), layer.getBounds().getNorthEast());
        }
    });
    return {zoom: map.getZoom(), holds_district: map.getBounds().contains(district)};
}"""


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
        summary = page.locator("#siting-legend summary")
        assert legend.get_attribute("open") is not None
        assert "点击收起" in summary.inner_text()
        assert "点击展开" not in summary.inner_text()
        text = legend.inner_text()
        for entry in ("现有设施服务圈", "新建站点服务圈", "建议新建站点", "服务圈外的老人"):
            assert entry in text
        assert set(re.findall(r"[A-Za-z]{2,}", text)) <= {"demo"}  # no English, units aside
        tall = legend.bounding_box()["height"]
        summary.click()
        assert legend.get_attribute("open") is None
        assert "点击展开" in summary.inner_text()
        assert "点击收起" not in summary.inner_text()
        assert legend.bounding_box()["height"] < tall / 3  # folded to its one-line summary
        browser.close()


# every feature of the map: its tooltip and its popup opened through Leaflet's own events
OPEN_EVERY_FEATURE = """() => {
    const key = Object.keys(window).find((k) => k.startsWith('map_') && window[k] instanceof L.Map);
    const map = window[key];
    const leaves = [];
    map.eachLayer((layer) => { if (layer.feature) { leaves.push(layer); } });
    const texts = [];
    for (const layer of leaves) {
        const at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
        layer.fire('mouseover', {latlng: at}, true);
        document.querySelectorAll('.leaflet-tooltip').forEach((t) => texts.push(t.innerText));
        layer.fire('mouseout', {latlng: at}, true);
        layer.fire('click', {latlng: at}, true);
        document.querySelectorAll('.leaflet-popup-content').forEach((p) => texts.push(p.innerText));
        map.closePopup();
    }
    return {features: leaves.length, texts: texts};
}"""


def test_hostile_names_stay_text_in_chromium(demo_copy: Path, tmp_path: Path) -> None:
    """Names holding a backtick, ``${...}``, ``</script>``, markup and formulas: the map opens
    with no dialog and no script error and shows each name as text; the workbook and CSVs
    hold them as text."""
    sync_api = pytest.importorskip("playwright.sync_api")
    names = rewrite_demo(demo_copy)
    out = tmp_path / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser, page = _offline_page(pw)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
        page.goto((out / "map.html").resolve().as_uri())
        page.wait_for_timeout(1000)
        layers = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        panel = page.locator("#siting-plan").inner_text()  # the live plan's panel
        badge = page.locator(".siting-site").first
        badge.hover()
        tooltip = page.locator(".leaflet-tooltip").first.inner_text()
        badge.click()
        popup = page.locator(".leaflet-popup-content").first.inner_text()
        page.wait_for_timeout(400)  # the popup has faded in
        page.screenshot(path=str(out / "hostile_map.png"))
        page.keyboard.press("Escape")
        page.locator(".leaflet-control-layers").hover()  # the control opens on hover
        for box in page.locator(".leaflet-control-layers-overlays input").all():
            if not box.is_checked():
                box.check()  # every layer on: hidden ones hold names too
        opened = page.evaluate(OPEN_EVERY_FEATURE)
        page.wait_for_timeout(300)
        browser.close()
    assert dialogs == []
    assert errors == []
    # the live plan's panel names the plan's sites and every 街道/乡镇, as text
    assert sum(n in panel for n in names["candidates"].values()) >= 10
    assert all(n in panel for n in names["streets"].values())
    texts = "\n".join([tooltip, popup, *opened["texts"]])
    assert opened["features"] > 400  # 社区/村 twice, outlines, points, uncovered circles
    assert tooltip.startswith("1. ")
    assert any(n in tooltip for n in names["candidates"].values())
    assert "新覆盖的社区/村" in popup
    for layer in ("communities", "streets", "facilities", "candidates"):
        shown = [n for n in names[layer].values() if n in texts]
        assert len(shown) > len(names[layer]) / 2, layer  # the names, shown as text
    for prefix in PREFIXES:
        assert prefix in texts
    assert any(FACILITY_TYPE in t for t in layers)  # the layer control shows it as text
    assert (out / "hostile_map.png").stat().st_size > 10_000

    comm = pd.read_csv(out / "coverage_by_community.csv", encoding="utf-8-sig")["name"]
    hostile = list(names["communities"].values())
    formulas = [n for n in hostile if n.startswith(("=", "+", "-", "@"))]
    assert set(formulas) <= {c[1:] for c in comm if c.startswith("'")}  # neutralised
    assert not comm.str.startswith(("=", "+", "-", "@")).any()
    book = openpyxl.load_workbook(out / "report.xlsx")
    cells = {c.value: c for row in book["社区村覆盖"].iter_rows() for c in row}
    for name in formulas:
        assert cells[name].data_type == "s"  # text showing exactly the name, not a formula
    assert not [
        c for ws in book.worksheets for r in ws.iter_rows() for c in r if c.data_type == "f"
    ]
