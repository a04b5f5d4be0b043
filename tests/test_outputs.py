"""Report outputs, tile providers, batch runs and comparisons."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from siting import ScenarioError
from siting.cli import main


def test_excel_report_and_png(demo_out: Path) -> None:
    sheets = pd.read_excel(demo_out / "report.xlsx", sheet_name=None)
    assert list(sheets) == [
        "概要",
        "街道乡镇覆盖",
        "社区村覆盖",
        "建议新建站点",
        "规则达标",
        "用地核查",
        "公平性分析",
        "注意事项",
    ]
    assert sheets["注意事项"]["说明"].tolist() == ["本次运行无警告"]  # the demo runs clean
    summary = sheets["概要"].set_index("项目")["数值"]
    assert summary["情景"] == "demo"
    assert float(summary["一刻钟服务半径 (m)"]) == 900
    assert {"代码", "名称", "规划后覆盖率"} <= set(sheets["社区村覆盖"].columns)
    assert {"建设顺序", "新增覆盖老人"} <= set(sheets["建议新建站点"].columns)
    assert len(sheets["规则达标"]) == len(pd.read_csv(demo_out / "compliance.csv"))
    png = (demo_out / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 50_000


def test_tile_providers(demo_result, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from siting.outputs.tables import tables
    from siting.outputs.webmap import page as maps

    proposed = tables(demo_result)["proposed_sites"]

    def build(tiles: str) -> str:
        sc = demo_result.scenario
        res = replace(
            demo_result,
            scenario=sc.model_copy(
                update={"output": sc.output.model_copy(update={"tiles": tiles})}
            ),
        )
        return maps.build_map(res, proposed).get_root().render()

    osm, gaode = build("osm"), build("gaode")
    assert "tile.openstreetmap.org" in osm
    assert "autonavi.com" in gaode
    assert "GCJ-02" in gaode  # the map says the overlays were shifted
    first = proposed.iloc[0]
    # the same site is drawn 300-700 m away on GCJ-02 tiles (display only)
    from siting.coords import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(first["lon"], first["lat"])
    assert f"{float(lat):.6f}"[:8] in gaode
    assert np.hypot((lon - first["lon"]) * 90_000, (lat - first["lat"]) * 111_000) > 300
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(ScenarioError, match="TIANDITU_KEY"):
        build("tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    assert "tk=abc123" in build("tianditu")


def test_baidu_tiles_are_refused_with_the_reason(demo_copy: Path) -> None:
    from siting.scenario import load

    text = demo_copy.read_text(encoding="utf-8") + "output: {tiles: baidu}\n"
    demo_copy.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="BD-09"):
        load(demo_copy)


def test_batch_run_reuses_and_compare_writes_everything(
    demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = demo_copy.parent / "speed"
    shutil.copytree(Path(__file__).resolve().parents[1] / "scenarios" / "speed", folder)
    for f in folder.glob("*.yaml"):  # a quick batch: no map, report or PNG
        f.write_text(
            f.read_text(encoding="utf-8")
            + "output: {map: false, report_xlsx: false, map_png: false}\n",
            encoding="utf-8",
        )
    out = tmp_path / "runs"
    assert main(["run", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 scenarios; networks and cost matrices reused 2 time(s)" in printed
    runs = [out / f"speed-{s}" for s in ("standard", "elderly", "frail")]
    shares = [
        json.loads((r / "summary.json").read_text(encoding="utf-8"))["covered_after"]["share"]
        for r in runs
    ]
    assert shares == sorted(shares, reverse=True)  # slower walking, smaller circles
    assert not (runs[0] / "map.html").exists()
    cmp = tmp_path / "cmp"
    assert main(["compare", *map(str, runs), "--out", str(cmp)]) == 0
    table = pd.read_csv(cmp / "compare.csv", encoding="utf-8-sig").set_index("measure")
    assert list(table.columns) == ["speed-standard", "speed-elderly", "speed-frail"]
    assert table.loc["urban_radius_m"].astype(float).tolist() == [900, 684, 576]
    assert table.loc["covered_after_share"].astype(float).tolist() == shares  # fractions
    # the spreadsheet is in Chinese, shares in percent cells, the model's words translated
    book = openpyxl.load_workbook(cmp / "compare.xlsx")
    rows = {r[0].value: r[1:] for r in book["情景对比"].iter_rows(min_row=2)}
    assert rows["规划后覆盖率"][0].number_format == "0.0%"
    assert rows["规划后覆盖率"][0].value == pytest.approx(shares[0])
    assert not any(re.search(r"[A-Za-z]{4,}", str(label)) for label in rows)
    assert all(re.search("[\u4e00-\u9fff]", str(c.value)) for c in rows["模型状态"])
    page = (cmp / "compare.html").read_text(encoding="utf-8")
    assert f"{100 * shares[0]:.1f}%" in page
    for name in ("compare.xlsx", "compare.html", "compare_map.html"):
        assert (cmp / name).stat().st_size > 1000
    page = (cmp / "compare_map.html").read_text(encoding="utf-8")
    assert "规划后覆盖率变化" in page
    assert "L.control.scale({imperial: false" in page  # metres, as on the run's map
    assert "imperial: true" not in page


def test_same_inputs_same_bytes(demo_copy: Path, tmp_path: Path) -> None:
    """Every file but timings.json is byte-for-byte reproducible: the map's element ids follow
    the page's build order, the workbook and GeoPackage carry a fixed document time."""
    for out in ("a", "b"):
        assert main(["run", str(demo_copy), "--out", str(tmp_path / out)]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert {"map.html", "report.xlsx", "results.gpkg", "map.png"} <= set(names)
    for name in names:
        if name != "timings.json":
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), (
                name
            )


def test_documents_carry_no_clock_time(demo_out: Path) -> None:
    import sqlite3
    import zipfile

    with zipfile.ZipFile(demo_out / "report.xlsx") as book:
        core = book.read("docProps/core.xml").decode()
        assert {e.date_time for e in book.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert core.count("1980-01-01T00:00:00Z") == 2  # created and modified
    with sqlite3.connect(demo_out / "results.gpkg") as db:
        stamps = {r[0] for r in db.execute("select last_change from gpkg_contents")}
    assert stamps == {"1980-01-01T00:00:00.000Z"}
    page = (demo_out / "map.html").read_text(encoding="utf-8")
    assert re.search(r"map_[0-9a-f]{32}", page) is None  # no random element id is left
    assert re.search(r"var map_\d{6} = L\.map", page)


def test_geopackage_and_shapefile_export(demo_result, tmp_path: Path) -> None:
    import geopandas as gpd
    import pyogrio

    from siting.io.spatial import write_gpkg, write_shapefiles
    from siting.outputs.gis_layers import spatial_layers
    from siting.outputs.tables import tables

    layers = spatial_layers(demo_result)
    gpkg = write_gpkg(tmp_path / "results.gpkg", layers)
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == list(layers)
    comm = gpd.read_file(gpkg, layer="communities")
    csv = tables(demo_result)["coverage_by_community"]
    assert comm["share_after"].round(4).tolist() == csv["share_after"].round(4).tolist()
    assert comm["name"].iloc[0] == csv["name"].iloc[0]  # Chinese text intact
    folder = write_shapefiles(tmp_path / "shp", layers)
    codebook = pd.read_csv(folder / "codebook.csv", encoding="utf-8-sig")
    assert codebook["field"].map(lambda f: f.isascii() and len(f.encode()) <= 10).all()
    fields = codebook[codebook["layer"] == "communities"].set_index("column")["field"]
    shp = gpd.read_file(folder / "communities.shp")
    assert shp[fields["name"]].iloc[0] == csv["name"].iloc[0]  # via the .cpg: UTF-8
    assert shp[fields["share_after"]].round(4).tolist() == csv["share_after"].round(4).tolist()
    notes = codebook.set_index(["layer", "column"])["note"].fillna("")
    assert "cut to 254 bytes" in notes[("proposed_sites", "communities_newly_covered")]
    assert not list(tmp_path.glob("**/.*tmp*"))  # nothing half-written left behind


def test_a_community_without_elderly_has_no_share_not_full_coverage(
    demo_copy: Path, tmp_path: Path
) -> None:
    """A 社区 whose table gives 0 elderly was written 100 % covered (status covered, dark
    green): it now has no share (empty cells), status no elderly / 无老人, grey on both maps."""
    from siting.outputs.style import NO_ELDERLY_COLOUR, NO_ELDERLY_LABEL

    table = demo_copy.parent.parent / "data" / "population" / "demo_population.csv"
    pop = pd.read_csv(table, dtype=str, encoding="utf-8-sig")
    pop.loc[pop["code"] == "419901001002", "elderly_60plus"] = "0"
    pop.to_csv(table, index=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    comm = pd.read_csv(out / "coverage_by_community.csv", dtype={"code": str}).set_index("code")
    row = comm.loc["419901001002"]
    assert row["elderly"] == 0
    assert np.isnan(row["share_before"])
    assert np.isnan(row["share_after"])
    assert row["status_after"] == "no elderly"
    assert (comm.drop(index="419901001002")["status_after"] != "no elderly").all()
    sheet = pd.read_excel(out / "report.xlsx", sheet_name="社区村覆盖", dtype={"代码": str})
    assert sheet.set_index("代码").loc["419901001002", "规划后状态"] == "无老人"
    page = (out / "map.html").read_text(encoding="utf-8")
    assert NO_ELDERLY_LABEL in page
    assert NO_ELDERLY_COLOUR in page
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["elderly_total"] == pytest.approx(96_615 - 998)


def test_a_full_disk_is_an_output_error_naming_the_folder(
    demo_result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the set is written: an OutputError (exit 2) naming the folder and
    the fix, the previous set kept (it was "unexpected failure … please report it", exit 3)."""
    import errno

    from siting import OutputError
    from siting.outputs import folder
    from siting.outputs import tables as report

    out = tmp_path / "out"
    folder.write_all(demo_result, out)
    kept = (out / "summary.json").read_bytes()

    def full(path: object, table: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(report, "write_csv", full)
    with pytest.raises(OutputError, match=r"could not be written into .*No space left.*--out"):
        folder.write_all(demo_result, out)
    assert (out / "summary.json").read_bytes() == kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
