"""The demo district's files as a 民政局 hands them over: the example set ``data/examples/bureau/``.

Made by :func:`generate` from the tidy demo files under ``data/`` (``python -m siting.demo data``
writes both, byte for byte the same on every run), and read by
``scenarios/examples/bureau.yaml`` and ``bureau_points.yaml``:

* ``老年人口统计.xlsx``: ``demo_population.csv`` as a bureau keeps it (:func:`bureau_rows`): a
  title line and a 填报单位 line above the header (row 3), 序号, the 街道 merged once per block
  and written as ``XX街道办事处`` / ``XX镇人民政府`` (迎宾街道 as its 9-digit code), 社区/村
  names with 居委会/村委会 suffixes in four spellings (one with a full-width space), five age
  bands adding up to the demo's 60+ figure, 常住人口, 户数, a 小计 row for 李庄镇, a ``合 计``
  row and a 填表人 line;
* ``养老设施_高德导出.xlsx``: ``demo_facilities.csv`` as an Amap (高德) export
  (:func:`amap_facilities`): GCJ-02, Chinese headers (名称 类型 经度 纬度 地址 床位数 建筑面积),
  no id, no land;
* ``闲置地块.geojson``: ``demo_candidates.csv`` as parcels (:func:`parcels_candidates`): a
  square around each candidate point with the demo's land as its area, 地块编号, 用地面积 given
  for the first five only, no name;
* ``社区居委会点位.geojson``: the 社区/村 as 居委会/村委会 points (:func:`points_communities`),
  each polygon's representative point.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import shapely

from siting.coords import analysis_crs, wgs84_to_gcj02
from siting.io.write import write_text, write_workbook

__all__ = [
    "AMAP_COLUMNS",
    "BANDS",
    "FILES",
    "HEADER",
    "LAND_GIVEN",
    "POPULATION_COLUMNS",
    "amap_facilities",
    "bands",
    "bureau_rows",
    "generate",
    "parcels_candidates",
    "points_communities",
    "population_workbook",
]

FILES = {
    "bureau_population": "老年人口统计.xlsx",
    "bureau_facilities": "养老设施_高德导出.xlsx",
    "bureau_candidates": "闲置地块.geojson",
    "bureau_community_points": "社区居委会点位.geojson",
}
"""The example set's files by role, in ``data/examples/bureau/``."""

TITLE = "演示区2023年老年人口统计表"
BANDS = ["60-64岁", "65-69岁", "70-79岁", "80-84岁", "85岁及以上"]
SHARES = (32, 27, 26, 9)  # % of the 60+ in the first four bands; the fifth takes the rest
HEADER = ["序号", "街道（乡镇）", "社区（村）名称", *BANDS, "常住人口", "户数"]
SUBTOTAL = "419901100"  # 李庄镇: a 小计 row closes its block
BY_CODE = "419901009"  # 迎宾街道: its 街道 cell holds the code
POPULATION_COLUMNS: dict[str, str | list[str]] = {
    "name": "社区（村）名称",
    "street": "街道（乡镇）",
    "elderly": BANDS,
    "residents": "常住人口",
    "households": "户数",
}
"""``inputs.population.columns`` for the workbook."""

AMAP_COLUMNS = {
    "name": "名称",
    "type": "类型",
    "lon": "经度",
    "lat": "纬度",
    "beds": "床位数",
    "floor_area_m2": "建筑面积",
}
"""``inputs.facilities.columns`` for the Amap export."""

LAND_GIVEN = 5  # parcels with 用地面积 filled in; the others take their area
_STAMP = (2024, 1, 1)  # the workbooks' created/modified time and their zip entries'


# -- the population workbook ----------------------------------------------------------------


def bands(elderly: int) -> list[int]:
    """A 60+ figure split into the five age bands of :data:`BANDS` (they add up to it)."""
    parts = [elderly * s // 100 for s in SHARES]
    return [*parts, elderly - sum(parts)]


def _community_as_written(i: int, name: str, kind: str) -> str:
    """Four spellings of a 社区 (居委会 suffixes, one with a full-width space), three of a 村."""
    if kind == "社区":
        base = name.removesuffix("社区")
        return [f"{name}居委会", f"{base}居委会", name, f"{base}\u3000社区居民委员会"][i % 4]
    return [f"{name.removesuffix('村')}村委会", f"{name}村民委员会", name][i % 3]


def _street_as_written(code: str, name: str, kind: str) -> str:
    if code == BY_CODE:
        return code
    return f"{name}办事处" if kind == "街道" else f"{name}人民政府"


def bureau_rows(data: str | Path) -> tuple[list[list[object]], list[tuple[int, int]]]:
    """The workbook's rows (title and header included) made from the demo files under
    ``data``, and the blocks of rows (1-based, first and last) whose 街道 cell is merged."""
    data = Path(data)
    pop = pd.read_csv(data / "population" / "demo_population.csv", dtype={"code": str})
    comm = gpd.read_file(data / "boundaries" / "demo_communities.geojson").set_index("code")
    streets = gpd.read_file(data / "boundaries" / "demo_streets.geojson").set_index("code")
    rows: list[list[object]] = [[TITLE], ["填报单位：演示区民政局（单位：人）"], [*HEADER]]
    merged = []
    serial = 0
    for street, block in pop.groupby(pop["code"].map(comm["street_code"]), sort=False):
        first = len(rows) + 1
        figures = zip(
            block["code"],
            block["name"],
            block["elderly_60plus"].astype(int),
            block["residents"],
            block["households"],
            strict=True,
        )
        for i, (code, tidy_name, elderly, residents, households) in enumerate(figures):
            serial += 1
            name = _community_as_written(i, tidy_name, str(comm.at[code, "kind"]))
            s = streets.loc[street]
            where = _street_as_written(str(street), s["name"], s["kind"]) if i == 0 else None
            rows.append([serial, where, name, *bands(elderly), residents, households])
        merged.append((first, len(rows)))
        if street == SUBTOTAL:
            sums = block[["elderly_60plus", "residents", "households"]].sum()
            band_sums = [sum(bands(int(e))[k] for e in block["elderly_60plus"]) for k in range(5)]
            rows.append(
                [None, None, f"{streets.at[street, 'name']}小计", *band_sums, *sums.iloc[1:]]
            )
    totals = [sum(bands(int(e))[k] for e in pop["elderly_60plus"]) for k in range(5)]
    rows.append(["合 计", None, None, *totals, pop["residents"].sum(), pop["households"].sum()])
    rows.append(["填表人：王某　　审核人：李某"])
    return rows, merged


def population_workbook(data: str | Path) -> openpyxl.Workbook:
    """The population workbook (one sheet, 老年人口) with its merged cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "老年人口"
    rows, merged = bureau_rows(data)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    for first, last in merged:
        if last > first:
            sheet.merge_cells(start_row=first, start_column=2, end_row=last, end_column=2)
    return book


def _cell(value: object) -> object:
    """A cell value openpyxl writes: numpy integers as int, NaN as an empty cell."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return None if math.isnan(float(value)) else float(value)
    return value


# -- the other layers -------------------------------------------------------------------------


def points_communities(data: str | Path) -> gpd.GeoDataFrame:
    """The demo 社区/村 as points: each polygon's representative point."""
    comm = gpd.read_file(Path(data) / "boundaries" / "demo_communities.geojson")
    points = comm.geometry.representative_point()
    return gpd.GeoDataFrame(
        comm[["code", "name", "street_code", "kind"]],
        geometry=gpd.points_from_xy(points.x.round(7), points.y.round(7)),
        crs=comm.crs,
    )


def amap_facilities(data: str | Path) -> pd.DataFrame:
    """The demo facilities as Amap exports them: GCJ-02, Chinese headers, no id or land."""
    fac = pd.read_csv(Path(data) / "facilities" / "demo_facilities.csv", encoding="utf-8-sig")
    lon, lat = wgs84_to_gcj02(fac["lon"].to_numpy(), fac["lat"].to_numpy())
    return pd.DataFrame(
        {
            "名称": fac["name"],
            "类型": fac["type"],
            "经度": np.round(lon, 7),
            "纬度": np.round(lat, 7),
            "地址": "演示区" + fac["name"].str[:2] + "路",
            "床位数": fac["beds"],
            "建筑面积": fac["floor_area_m2"],
        }
    )


def parcels_candidates(data: str | Path) -> gpd.GeoDataFrame:
    """A square parcel around each demo candidate, of the demo's land area; no names."""
    cand = pd.read_csv(Path(data) / "facilities" / "demo_candidates.csv", encoding="utf-8-sig")
    crs = analysis_crs(float(cand["lon"].mean()))
    centres = gpd.GeoSeries(gpd.points_from_xy(cand["lon"], cand["lat"]), crs=4326).to_crs(crs)
    half = np.sqrt(cand["land_area_m2"].to_numpy(float)) / 2
    squares = shapely.box(centres.x - half, centres.y - half, centres.x + half, centres.y + half)
    wgs = gpd.GeoSeries(squares, crs=crs).to_crs(4326)
    rounded = shapely.transform(wgs.to_numpy(), lambda xy: np.round(xy, 7))
    land = cand["land_area_m2"].where(cand.index < LAND_GIVEN)
    return gpd.GeoDataFrame(
        {"地块编号": cand["id"], "用地面积": land}, geometry=list(rounded), crs=4326
    )


# -- writing, the same bytes on every run -----------------------------------------------------


def _save_workbook(book: openpyxl.Workbook, path: Path) -> None:
    """Save with fixed document and zip-entry times (openpyxl stamps both with the clock)."""
    write_workbook(path, book.save, moment=_STAMP)


def _table_workbook(table: pd.DataFrame, sheet_name: str) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append([_cell(v) for v in row])
    return book


def _geojson(frame: gpd.GeoDataFrame) -> str:
    """A WGS-84 layer as GeoJSON text, one feature a line: properties in column order, NaN as
    null, coordinates as rounded before."""
    names = list(frame.columns.drop("geometry"))
    features = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {k: _cell(v) for k, v in zip(names, row, strict=True)},
                "geometry": shapely.geometry.mapping(geom),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for row, geom in zip(frame[names].itertuples(index=False), frame.geometry, strict=True)
    ]
    crs = '{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}}'
    return (
        f'{{"type":"FeatureCollection","crs":{crs},"features":[\n' + ",\n".join(features) + "\n]}\n"
    )


def generate(data: str | Path, folder: str | Path | None = None) -> dict[str, Path]:
    """Write the example set from the demo files under ``data`` into ``folder`` (default
    ``data/examples/bureau``); returns the written paths by role (:data:`FILES`)."""
    data = Path(data)
    folder = Path(folder) if folder is not None else data / "examples" / "bureau"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {role: folder / name for role, name in FILES.items()}
    _save_workbook(population_workbook(data), paths["bureau_population"])
    _save_workbook(
        _table_workbook(amap_facilities(data), "高德地图导出"), paths["bureau_facilities"]
    )
    write_text(paths["bureau_candidates"], _geojson(parcels_candidates(data)))
    write_text(paths["bureau_community_points"], _geojson(points_communities(data)))
    return paths
