"""A batch's own outputs, beside its scenarios' folders: ``batch_summary.csv`` (English
columns) and ``batch_summary.xlsx`` (Chinese headers), one row per scenario in the order given,
and ``province_map.html``, every county coloured by the share of its elderly covered after the
plan; and :func:`differences`, which says whether two batches wrote the same sets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from siting.io.write import write_csv, write_page, write_workbook

if TYPE_CHECKING:
    from siting.batch.outcome import Outcome

COLUMNS = {
    "county_code": "区县代码",
    "county": "区县",
    "scenario": "情景",
    "age_group": "年龄组",
    "elderly": "老人数",
    "covered_before": "规划前覆盖老人",
    "share_before": "规划前覆盖率",
    "covered_after": "规划后覆盖老人",
    "share_after": "规划后覆盖率",
    "new_sites": "新建站点数",
    "land_shortfall_m2": "规划前用地缺口 (m²)",
    "land_shortfall_after_m2": "规划后用地缺口 (m²)",
    "rule_checks": "规则检查项",
    "rule_failures": "规则未达标项",
    "rule_no_data": "规则无数据项",
    "warnings": "警告条数",
    "status": "状态",
    "error": "错误信息",
}
"""The batch table's columns (CSV) and their Chinese headers (xlsx)."""

_PERCENT = ("share_before", "share_after")


def summary_table(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One row per scenario, in the batch's order (:data:`COLUMNS`)."""
    rows = [
        {
            "county_code": o.county_code,
            "county": o.county,
            "scenario": o.name,
            **o.figures,
            "status": o.status,
            "error": o.error,
        }
        for o in outcomes
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_summary(outcomes: Sequence[Outcome], root: Path) -> dict[str, Path]:
    """``batch_summary.csv``, ``batch_summary.xlsx`` and ``province_map.html`` in ``root``."""
    table = summary_table(outcomes)
    return {
        "csv": write_csv(root / "batch_summary.csv", table),
        "xlsx": _write_xlsx(table, root / "batch_summary.xlsx"),
        "map": write_province_map(outcomes, root / "province_map.html"),
    }


def _write_xlsx(table: pd.DataFrame, path: Path) -> Path:
    from siting._text import text_cells

    shown = table.assign(status=table["status"].map({"ok": "成功", "error": "失败"}))

    def fill(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            shown.rename(columns=COLUMNS).to_excel(xl, sheet_name="批量汇总", index=False)
            ws = xl.book["批量汇总"]
            for j, column in enumerate(shown.columns, start=1):
                cells = list(ws.iter_rows(min_col=j, max_col=j))
                if column in _PERCENT:
                    for (cell,) in cells[1:]:
                        cell.number_format = "0.0%"
                width = max(len(str(c.value or "")) for (c,) in cells[:200])
                ws.column_dimensions[cells[0][0].column_letter].width = min(max(8, width + 2), 60)
            ws.freeze_panes = "A2"
            text_cells(xl.book)

    return write_workbook(path, fill)


PROVINCE_BINS = (
    (0.5, "#b2182b", "低于 50%"),
    (0.6, "#ef8a62", "50–60%"),
    (0.7, "#fddbc7", "60–70%"),
    (0.8, "#d9f0d3", "70–80%"),
    (0.9, "#a6dba0", "80–90%"),
    (math.inf, "#1b7837", "90% 及以上"),
)
"""Colours of a county's share covered after the plan (upper bound exclusive, colour, label)."""
FAILED_COLOUR = "#bdbdbd"


def _colour(share: float) -> str:
    return next(c for upper, c, _ in PROVINCE_BINS if share < upper)


def _county_frame(outcomes: Sequence[Outcome]) -> Any:
    """One row per county with an outline: its worst share after the plan and a tooltip."""
    import geopandas as gpd
    import shapely

    from siting._text import html_table, html_text

    rows = []
    by_code: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_code.setdefault(o.county_code or o.name, []).append(o)
    for code, runs in by_code.items():
        outline = next((o.outline_wkb for o in runs if o.outline_wkb is not None), None)
        if outline is None:
            continue
        ok = [o for o in runs if o.status == "ok"]
        shares = [float(o.figures["share_after"]) for o in ok]
        lines = [
            (
                o.name,
                f"{o.figures['share_before']:.1%} → {o.figures['share_after']:.1%}，"
                f"新建 {o.figures['new_sites']} 处"
                if o.status == "ok"
                else f"运行失败：{o.error[:200]}",
            )
            for o in runs
        ]
        tip = f"<b>{html_text(runs[0].county)}</b>（{html_text(code)}）" + html_table(
            [("情景", "规划前 → 规划后覆盖率"), *lines]
        )
        rows.append(
            {
                "tip": tip,
                "fill": _colour(min(shares)) if shares else FAILED_COLOUR,
                "geometry": shapely.from_wkb(outline),
            }
        )
    return gpd.GeoDataFrame(rows, columns=["tip", "fill", "geometry"], crs=4326)


def _province_legend(outcomes: Sequence[Outcome], note: str) -> str:
    from siting._text import html_text

    def row(colour: str, text: str) -> str:
        swatch = (
            "<span style='display:inline-block;vertical-align:middle;margin-right:5px;"
            f"background:{colour};opacity:.75;width:16px;height:11px'></span>"
        )
        return f"<div style='white-space:nowrap'>{swatch}{html_text(text)}</div>"

    ok = [o for o in outcomes if o.status == "ok"]
    failed = [o for o in outcomes if o.status != "ok"]
    counties = len({o.county_code or o.name for o in outcomes})
    failures = "".join(
        f"<li>{html_text(o.name)}（{html_text(o.county or o.county_code)}）："
        f"{html_text(o.error[:300])}</li>"
        for o in failed[:20]
    )
    more = f"<li>另有 {len(failed) - 20} 个</li>" if len(failed) > 20 else ""
    return (
        "<div id='siting-province-legend' style='position:fixed;bottom:24px;left:12px;"
        "z-index:9999;background:rgba(255,255,255,.94);padding:6px 10px;border:1px solid #999;"
        "border-radius:4px;font:12px sans-serif;max-width:360px;max-height:calc(100vh - 140px);"
        "overflow-y:auto'>"
        f"<b>各区县规划后老人覆盖率</b><br>{counties} 个区县，{len(outcomes)} 个情景"
        f"（成功 {len(ok)}，失败 {len(failed)}）<br>"
        "<span style='color:#666'>一个区县有多个情景时按其中最低的规划后覆盖率着色</span>"
        + "".join(row(c, t) for _, c, t in PROVINCE_BINS)
        + row(FAILED_COLOUR, "运行失败")
        + (
            "<hr><b>运行失败的情景</b><ul style='margin:2px 0;padding-left:16px'>"
            f"{failures}{more}</ul>"
            if failed
            else ""
        )
        + (f"<hr><div style='color:#b35806'>{html_text(note)}</div>" if note else "")
        + "</div>"
    )


def write_province_map(outcomes: Sequence[Outcome], path: Path) -> Path:
    """The province map: every county outline coloured by its share covered after the plan
    (:data:`PROVINCE_BINS`), its scenarios in the tooltip, failed runs listed in the legend.
    Offline like the run's map; every text from data escaped (:mod:`siting._text`)."""
    import folium

    from siting._tiles import provider, shifter
    from siting.outputs.webmap.layers import filled_layer
    from siting.outputs.webmap.offline import PageHtml, make_offline
    from siting.outputs.webmap.page import MapControls

    chosen = {o.tiles for o in outcomes if o.status == "ok"}
    tiles = provider(chosen.pop() if len(chosen) == 1 else "osm")
    frame = _county_frame(outcomes)
    fmap = folium.Map(tiles=None, zoom_snap=0.25)
    folium.TileLayer(
        tiles.url, name=tiles.label, attr=tiles.attribution, subdomains=tiles.subdomains
    ).add_to(fmap)
    if not frame.empty:
        shown = shifter(tiles.coord_system)(frame)
        filled_layer(
            shown, edge="#444444", weight=1.0, opacity=0.75, highlight=True, name="区县覆盖率"
        ).add_to(fmap)
        b = shown.total_bounds
        fmap.fit_bounds([(b[1], b[0]), (b[3], b[2])], padding_top_left=(380, 40))
        MapControls(fmap, whole=b).add_to(fmap)
    else:
        fmap.location = [34.0, 113.5]
        fmap.options["zoom"] = 7
    fmap.get_root().html.add_child(  # type: ignore[attr-defined]
        PageHtml(_province_legend(outcomes, tiles.note))
    )
    page = make_offline(fmap)
    return write_page(path, page)


# --------------------------------------------------------------------------- comparing sets

_FOLIUM_ID = re.compile(rb"[0-9a-f]{32}")
_XLSX_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def comparable(path: Path) -> bytes:
    """A file's bytes without what differs between two runs of the same scenario by
    construction: folium's random element ids (``map.html``, renumbered in order of first
    appearance), the workbook's creation time (``docProps/core.xml`` of an ``.xlsx``; every
    other part compared as is), the GeoPackage's ``last_change`` times (its SQL dump), a
    ``.dbf``'s date of last update. Any other file: its bytes."""
    data = path.read_bytes()
    if path.suffix == ".html":
        seen: dict[bytes, bytes] = {}
        return _FOLIUM_ID.sub(lambda m: seen.setdefault(m.group(0), b"id%d" % len(seen)), data)
    if path.suffix == ".xlsx":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = [
                name.encode() + b"\0" + _XLSX_TIME.sub(rb"\1\2", z.read(name))
                for name in sorted(z.namelist())
            ]
        return b"\0\0".join(parts)
    if path.suffix == ".gpkg":
        import sqlite3

        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            dump = "\n".join(db.iterdump())
        finally:
            db.close()
        return _ISO_TIME.sub("T", dump).encode()
    if path.suffix == ".dbf" and len(data) > 4:
        return data[:1] + b"\0\0\0" + data[4:]
    return data


RUN_TIMES = frozenset({"timings.json"})
"""Files that hold run times, different at every run: left out of :func:`differences`."""


def differences(a: Path, b: Path) -> list[str]:
    """The files (relative paths) under folders ``a`` and ``b`` that differ beyond what two
    runs of the same scenarios must (:func:`comparable`; ``timings.json`` left out), or that
    only one holds. Empty: the two sets are the same."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and p.name not in RUN_TIMES
        }

    left, right = files(a), files(b)
    differ = sorted(left ^ right)
    for name in sorted(left & right):
        if comparable(a / name) != comparable(b / name):
            differ.append(name)
    return differ
