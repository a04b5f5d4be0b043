"""Rebuild the fixtures of ``tests/test_reliability.py`` in ``tests/data/reliability/``.

    python tests/data/make_fixtures.py          # writes tests/data/reliability/
    python tests/data/make_fixtures.py --check  # fails if a committed file differs

Each file is tiny and hand-made from the numbers below, so a reader can see what is wrong with it
(the rows of ``../shared/RELIABILITY.md`` it serves are named in each writer). The good twin of
most of them is the ``mini/`` district: one 街道 with three 社区 and one 乡镇 with one 村 on a
9 x 5 grid of streets (about 2.9 x 1.3 km, near 115.0E 35.75N in Henan), a 社区日间照料中心, a
养老院, five candidate sites and a scenario that runs in seconds. The output is byte-for-byte the
same on every build (no dates, fixed order); Shapefiles are written with GDAL and their DBF date
set to a fixed day.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent / "reliability"

# -- the mini district ----------------------------------------------------------------------------

LON0, LAT0, DX, DY = 115.000, 35.750, 0.004, 0.003  # grid origin and spacing (~361 m x 333 m)
NI, NJ = 9, 5  # grid columns (west to east) and rows (south to north)
SOUTH, NORTH = 35.7485, 35.7635
STREETS = [  # code, name, kind, west, east
    ("419901001", "人民路街道", "街道", 114.9985, 115.0260),
    ("419901101", "王助乡", "乡镇", 115.0260, 115.0335),
]
COMMUNITIES = [  # code, name, street_code, kind, west, east, elderly, residents, households
    ("419901001001", "东风社区", "419901001", "社区", 114.9985, 115.0100, 300, 1300, 460),
    ("419901001002", "建设社区", "419901001", "社区", 115.0100, 115.0180, 500, 2100, 760),
    ("419901001003", "解放社区", "419901001", "社区", 115.0180, 115.0260, 400, 1700, 600),
    ("419901101201", "李庄村", "419901101", "村", 115.0260, 115.0335, 200, 800, 300),
]
FACILITY_COLUMNS = ["id", "name", "type", "lon", "lat", "floor_area_m2", "beds", "land_area_m2"]
FACILITIES = [  # id, name, type, grid i, j, floor m², beds, land m² (about 10 m off the node)
    ("F1", "东风社区日间照料中心", "社区日间照料中心", 1, 2, 300.0, 10, 400.0),
    ("F2", "王助乡敬老院", "养老院", 7, 4, 1200.0, 40, 1500.0),
]
CANDIDATES = [  # id, name, grid i, j, land m²: together they reach every street node
    ("C1", "解放路地块", 6, 3, 800.0),
    ("C2", "李庄村委会旁", 8, 1, 600.0),
    ("C3", "南环路地块", 4, 0, 700.0),
    ("C4", "东风北巷地块", 2, 4, 450.0),
    ("C5", "西南角地块", 0, 0, 500.0),
    ("C6", "建设街闲置校舍", 5, 2, 550.0),
]
ISLAND = (115.0300, 35.7575, 0.0004, 0.0003)  # centre and half-sides of lanes reaching nothing


def node(i: int, j: int) -> tuple[float, float]:
    """Grid node (lon, lat)."""
    return round(LON0 + i * DX, 7), round(LAT0 + j * DY, 7)


def node_id(i: int, j: int) -> int:
    return 1 + j * NI + i


def box(west: float, south: float, east: float, north: float) -> list[list[list[float]]]:
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


# -- writers --------------------------------------------------------------------------------------


def _text(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _csv(path: Path, rows: list[list[object]], encoding: str = "utf-8-sig") -> None:
    """A CSV written by hand: cells as given (None empty), LF line ends."""

    def cell(v: object) -> str:
        return "" if v is None else str(v)

    _text(path, "".join(",".join(cell(v) for v in row) + "\n" for row in rows), encoding)


def _geojson(path: Path, features: list[dict], crs: str | None = "CRS84") -> None:
    doc: dict[str, object] = {"type": "FeatureCollection"}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:OGC:1.3:{crs}"}}
    doc["features"] = features
    _text(path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


def _feature(properties: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _polygon(rings: list) -> dict:
    return {"type": "Polygon", "coordinates": rings}


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _shapefile(
    path: Path,
    frame: object,
    *,
    encoding: str = "utf-8",
    cpg: bool = True,
    prj: bool = True,
    ldid: int | None = None,
) -> None:
    """A Shapefile written by GDAL, then made as bureaus send them: without ``.cpg`` or
    ``.prj``, with a given DBF language-driver byte; the DBF date is fixed (2024-01-01)."""
    import warnings

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'crs' was not provided" for a layer without one
        frame.to_file(path, driver="ESRI Shapefile", encoding=encoding)  # type: ignore[attr-defined]
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if not prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[1:4] = bytes([124, 1, 1])  # last update: 2024-01-01, not today
    if ldid is not None:
        raw[29] = ldid
    dbf.write_bytes(bytes(raw))


def _osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple]) -> None:
    """OSM XML: ``nodes`` id -> (lon, lat); ``ways`` (id, node refs, tags)."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='tests'>"]
    for n, (lon, lat) in sorted(nodes.items()):
        lines.append(f"  <node id='{n}' version='1' lat='{lat:.7f}' lon='{lon:.7f}'/>")
    for wid, refs, tags in ways:
        lines.append(f"  <way id='{wid}' version='1'>")
        lines += [f"    <nd ref='{r}'/>" for r in refs]
        lines += [f"    <tag k='{k}' v='{v}'/>" for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    _text(path, "\n".join(lines) + "\n")


# -- the mini district: the good twin -------------------------------------------------------------


def street_features() -> list[dict]:
    return [
        _feature({"code": c, "name": n, "kind": k}, _polygon(box(w, SOUTH, e, NORTH)))
        for c, n, k, w, e in STREETS
    ]


def community_features() -> list[dict]:
    return [
        _feature(
            {"code": c, "name": n, "street_code": s, "kind": k}, _polygon(box(w, SOUTH, e, NORTH))
        )
        for c, n, s, k, w, e, *_ in COMMUNITIES
    ]


def population_rows() -> list[list[object]]:
    rows: list[list[object]] = [["code", "name", "elderly_60plus", "residents", "households"]]
    rows += [[c, n, e, r, h] for c, n, _, _, _, _, e, r, h in COMMUNITIES]
    return rows


def facility_rows(shift: Callable | None = None) -> list[list[object]]:
    rows: list[list[object]] = [FACILITY_COLUMNS]
    for fid, name, kind, i, j, floor, beds, land in FACILITIES:
        lon, lat = node(i, j)
        lon, lat = round(lon + 0.0001, 7), round(lat + 0.00005, 7)
        if shift is not None:
            lon, lat = (round(float(v), 7) for v in shift(lon, lat))
        rows.append([fid, name, kind, lon, lat, floor, beds, land])
    return rows


def candidate_rows() -> list[list[object]]:
    rows: list[list[object]] = [["id", "name", "lon", "lat", "land_area_m2"]]
    rows += [[cid, name, *node(i, j), land] for cid, name, i, j, land in CANDIDATES]
    return rows


def grid_network(path: Path, *, island: str = "") -> None:
    """The mini grid: row 0 a main road, the rest residential lanes, row 3 one-way (walked both
    ways), column 4 a footpath. ``island`` adds lanes inside 李庄村, ~200 m from the grid, that
    join no other street: ``"t"`` three lanes meeting (a T), ``"ring"`` one closed loop."""
    nodes = {node_id(i, j): node(i, j) for i in range(NI) for j in range(NJ)}
    ways = []
    for j in range(NJ):
        tags = {"highway": "primary" if j == 0 else "residential", "name": f"纬{j}路"}
        if j == 3:
            tags["oneway"] = "yes"
        ways.append((100 + j, [node_id(i, j) for i in range(NI)], tags))
    for i in range(NI):
        tags = {"highway": "footway" if i == 4 else "residential", "name": f"经{i}街"}
        ways.append((200 + i, [node_id(i, j) for j in range(NJ)], tags))
    lon, lat, hx, hy = ISLAND
    if island == "t":
        arms = [(0, 0), (-1, 0), (1, 0), (0, 1)]
        for k, (sx, sy) in enumerate(arms):
            nodes[900 + k] = (round(lon + sx * hx, 7), round(lat + sy * hy, 7))
        lane = {"highway": "residential", "name": "孤岛巷"}
        ways += [(300 + k, [900, 900 + k], lane) for k in (1, 2, 3)]
    elif island == "ring":
        corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        for k, (sx, sy) in enumerate(corners):
            nodes[900 + k] = (round(lon + sx * hx, 7), round(lat + sy * hy, 7))
        ways.append(
            (300, [900, 901, 902, 903, 900], {"highway": "residential", "name": "孤岛环路"})
        )
    _osm(path, nodes, ways)


MINI_SCENARIO = """\
# The mini district of tests/data/make_fixtures.py: the good twin of the reliability fixtures.
name: mini
description: 测试区 — 2 new sites for 3 社区 and 1 村
inputs:
  streets: {path: streets.geojson}
  communities: {path: communities.geojson}
  population: {path: population.csv}
  facilities: {path: facilities.csv, coord_system: wgs84}
  candidates: {path: candidates.csv, coord_system: wgs84}
  network: {osm_file: network.osm}
coverage:
  walk_speed_mps: 1.0
  urban_minutes: 15
  rural_radius_m: 1000
model:
  name: mclp
  p: 2
  time_limit_s: 20
rules:
  set: henan
output: {map: false, map_png: false, gpkg: false}
"""


def mini(out: Path) -> None:
    """``mini/``: every row's good twin, and the scenario most pipeline tests run."""
    _geojson(out / "mini/streets.geojson", street_features())
    _geojson(out / "mini/communities.geojson", community_features())
    _csv(out / "mini/population.csv", population_rows())
    _csv(out / "mini/facilities.csv", facility_rows())
    _csv(out / "mini/candidates.csv", candidate_rows())
    grid_network(out / "mini/network.osm")
    _text(out / "mini/scenario.yaml", MINI_SCENARIO)


# -- Coordinates ----------------------------------------------------------------------------------


def _frame(features: list[dict], crs: object) -> object:
    """A layer for a Shapefile: ``street_code`` is ``street`` (field names hold 10 bytes)."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame.from_features(features, crs=crs)
    return frame.rename(columns={"street_code": "street"})


def coords(out: Path) -> None:
    import numpy as np
    from pyproj import Transformer
    from shapely import transform

    from siting.coords import from_wgs84

    d = out / "coords"
    # GCJ-02 (Amap) and BD-09 (Baidu) lon/lat of the mini facilities: 300-700 m off WGS-84
    _csv(d / "facilities_gcj02.csv", facility_rows(lambda x, y: from_wgs84(x, y, "gcj02")))
    _csv(d / "facilities_bd09.csv", facility_rows(lambda x, y: from_wgs84(x, y, "bd09")))
    # a Shapefile without .prj: the CRS is missing, never assumed
    _shapefile(d / "communities_noprj.shp", _frame(community_features(), "EPSG:4326"), prj=False)
    # the same 社区 in CGCS2000 / 3-degree Gauss-Krüger CM 114E, metres (EPSG:4547)
    communities = _frame(community_features(), "EPSG:4326").to_crs("EPSG:4547")
    _shapefile(d / "communities_cgcs2000_gk.shp", communities)
    # the 街道/乡镇 in metres with the zone prefix (38 500 000) under the CRS without it
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    streets = _frame(street_features(), "EPSG:4326")

    def prefixed(xy: np.ndarray) -> np.ndarray:
        x, y = to_gk.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([np.round(np.asarray(x) + 38_000_000, 2), np.round(y, 2)])

    streets["geometry"] = transform(streets.geometry.to_numpy(), prefixed)
    _shapefile(d / "streets_zone_prefix.shp", streets.set_crs("EPSG:4547", allow_override=True))
    # the same metres, without prefix, in a GeoJSON that says degrees
    metres = [
        _feature(
            f["properties"],
            _polygon(
                [
                    [[round(v, 2) for v in to_gk.transform(x, y)] for x, y in ring]
                    for ring in f["geometry"]["coordinates"]
                ]
            ),
        )
        for f in street_features()
    ]
    _geojson(d / "streets_metres_as_degrees.geojson", metres)
    # lat/lon swapped in the columns; Gauss-Krüger metres written as lon/lat
    rows = facility_rows()
    _csv(d / "facilities_swapped.csv", [rows[0]] + [[*r[:3], r[4], r[3], *r[5:]] for r in rows[1:]])
    gk = [[*r[:3], *(round(v, 1) for v in to_gk.transform(r[3], r[4])), *r[5:]] for r in rows[1:]]
    _csv(d / "facilities_gk_metres.csv", [rows[0], *gk])
    # a road layer in lon/lat handed to a function measuring metres (snap_m)
    roads = [
        _feature(
            {"道路等级": "支路" if j else "主干路"},
            {"type": "LineString", "coordinates": [list(node(i, j)) for i in range(NI)]},
        )
        for j in range(NJ)
    ]
    roads += [
        _feature(
            {"道路等级": "支路"},
            {"type": "LineString", "coordinates": [list(node(i, j)) for j in range(NJ)]},
        )
        for i in range(NI)
    ]
    _geojson(d / "roads_lonlat.geojson", roads)
    # tile providers: Baidu tiles are refused at load; Gaode ones shift the overlays
    _text(d / "scenario_tiles_baidu.yaml", _variant("baidu tiles", "output: {tiles: baidu}\n"))
    _text(d / "scenario_tiles_gaode.yaml", _variant("gaode tiles", "output: {tiles: gaode}\n"))


def _variant(what: str, body: str, *, name: str = "mini-variant") -> str:
    """A scenario that is the mini one with ``body`` on top (``base:``)."""
    return f"# the mini scenario with {what}\nbase: ../mini/scenario.yaml\nname: {name}\n{body}"


# -- Text and files -------------------------------------------------------------------------------


def text(out: Path) -> None:
    d = out / "text"
    communities = _frame(community_features(), "EPSG:4326")
    # GBK without .cpg: once with the DBF code-page byte (0x4D, GBK), once with none (mojibake)
    _shapefile(d / "communities_gbk_ldid.shp", communities, encoding="gbk", cpg=False, ldid=0x4D)
    _shapefile(d / "communities_gbk_noldid.shp", communities, encoding="gbk", cpg=False, ldid=0)
    # the population table as Excel on Chinese Windows saves it: GB18030 (GBK), Chinese headers
    rows = population_rows()
    rows[0] = ["区划代码", "社区名称", "60岁以上人口", "常住人口", "户数"]
    _csv(d / "population_gb18030.csv", rows, encoding="gb18030")
    # a layer with long Chinese field names (> 10 bytes each) for the Shapefile export
    features = [
        _feature(
            {
                "社区名称": n,
                "60岁以上老年人口": e,
                "规划后服务圈覆盖率": round(0.25 * (k + 1), 2),
                "社区名称备注": n + "（备注）",
            },
            _polygon(box(w, SOUTH, east, NORTH)),
        )
        for k, (_, n, _, _, w, east, e, _, _) in enumerate(COMMUNITIES)
    ]
    _geojson(d / "chinese_field_names.geojson", features)
    # a file under a Chinese folder and name, as `朝阳区/养老设施.gpkg` (GeoJSON here: smaller)
    points = [
        _feature({"id": fid, "name": name, "type": kind}, _point(*node(i, j)))
        for fid, name, kind, i, j, *_ in FACILITIES
    ]
    _geojson(d / "朝阳区/养老设施.geojson", points)
    # codes a spreadsheet turned into numbers: scientific notation, '.0', a leading zero lost
    rows = population_rows()
    rows[1][0] = "4.19901e+11"  # Excel's display of 419901001001, saved as text
    rows[2][0] = "419901001002.0"  # a float column written out
    _csv(d / "population_codes_as_numbers.csv", rows)
    leading = [["code", "name", "elderly_60plus", "residents", "households"]]
    leading += [["0" + r[0][1:], *r[1:]] for r in population_rows()[1:]]  # codes 019901...
    _csv(d / "population_leading_zeros.csv", leading)
    zeros = [
        _feature({**f["properties"], "code": "0" + f["properties"]["code"][1:]}, f["geometry"])
        for f in community_features()
    ]
    _geojson(d / "communities_leading_zeros.geojson", zeros)


# -- Geometry and values --------------------------------------------------------------------------


def geometry(out: Path) -> None:
    d = out / "geometry"
    feats = community_features()
    # 建设社区's ring crosses itself in a tiny loop at its south-west corner: repaired, the
    # area changes by ~0.01 %
    w, e, eps = COMMUNITIES[1][4], COMMUNITIES[1][5], 0.0001
    loop = [[w, SOUTH], [e, SOUTH], [e, NORTH], [w, NORTH], [w, SOUTH + eps]]
    loop += [[w + 2 * eps, SOUTH - eps], [w, SOUTH]]
    fixable = [*feats[:1], _feature(feats[1]["properties"], _polygon([loop])), *feats[2:]]
    _geojson(d / "communities_self_intersecting.geojson", fixable)
    # 解放社区 drawn as a bow-tie: a repair would halve it, so it is refused
    w, e = COMMUNITIES[2][4], COMMUNITIES[2][5]
    tie = [[w, SOUTH], [e, NORTH], [e, SOUTH], [w, NORTH], [w, SOUTH]]
    _geojson(
        d / "communities_bowtie.geojson",
        [*feats[:2], _feature(feats[2]["properties"], _polygon([tie])), *feats[3:]],
    )
    # 李庄村 with a null geometry
    _geojson(
        d / "communities_null_geometry.geojson",
        [*feats[:3], _feature(feats[3]["properties"], None)],
    )
    # ids: 解放社区 given 建设社区's code; a facility without an id and two with the same
    dup = [
        *feats[:2],
        _feature({**feats[2]["properties"], "code": "419901001002"}, feats[2]["geometry"]),
    ]
    _geojson(d / "communities_duplicate_ids.geojson", [*dup, feats[3]])
    rows = facility_rows()  # F1 without its id, F2 twice
    _csv(
        d / "facilities_missing_and_duplicate_ids.csv",
        [rows[0], ["", *rows[1][1:]], rows[2], rows[2]],
    )
    pop = population_rows()
    _csv(d / "population_duplicate_codes.csv", [*pop, [pop[2][0], "建设社区（重复）", 5, 20, 8]])
    # a facility in the middle of a block, ~245 m from the nearest street node
    rows = facility_rows()
    rows[1][3], rows[1][4] = round(LON0 + 1.5 * DX, 7), round(LAT0 + 2.5 * DY, 7)
    _csv(d / "facilities_far_from_network.csv", rows)
    # 社区 given as their 居委会 (office) points, not boundaries
    points = [
        _feature(
            {"code": c, "name": n, "street_code": s, "kind": k},
            _point(round((w + east) / 2, 7), 35.756),
        )
        for c, n, s, k, w, east, *_ in COMMUNITIES
    ]
    _geojson(d / "communities_as_points.geojson", points)


def values(out: Path) -> None:
    d = out / "values"
    pop = population_rows()
    # a negative figure, a non-number and an empty cell
    bad = [pop[0], [*pop[1][:2], -30, *pop[1][3:]], [*pop[2][:2], "n/a", *pop[2][3:]]]
    bad += [[*pop[3][:2], None, *pop[3][3:]], pop[4]]
    _csv(d / "population_bad_figures.csv", bad)
    missing = [pop[0], pop[1], [*pop[2][:2], None, *pop[2][3:]], pop[3], pop[4]]
    _csv(d / "population_missing_figure.csv", missing)
    # a development zone with statistics but no polygon; a 村 with a polygon but no row
    _csv(
        d / "population_zone_without_polygon.csv",
        [*pop, ["419901001901", "高新区管委会", 90, 400, 150]],
    )
    _csv(d / "population_polygon_without_row.csv", pop[:4])
    # what statistics bureaus send: a title above the header, 小计/合计 rows, age bands, names
    title = [
        ["演示区各社区老年人口统计表（2023年末）"],
        ["填报单位：民政局", None, None, None, None],
    ]
    _csv(d / "population_title_rows.csv", [*title, *pop])
    totals = [*pop[:4], [None, "人民路街道小计", 1200, 5100, 1820], pop[4]]
    totals.append([None, "合计", 1400, 5900, 2120])
    _csv(d / "population_total_rows.csv", totals)
    bands = [["code", "name", "60-69岁", "70-79岁", "80岁及以上", "residents", "households"]]
    for c, n, _, _, _, _, e, r, h in COMMUNITIES:
        bands.append([c, n, e // 2, e * 3 // 10, e - e // 2 - e * 3 // 10, r, h])
    _csv(d / "population_age_bands.csv", bands)
    names = [["街道", "社区名称", "elderly_60plus", "residents", "households"]]
    names += [
        [STREETS[0 if s == "419901001" else 1][1], n, e, r, h]
        for _, n, s, _, _, _, e, r, h in COMMUNITIES
    ]
    _csv(d / "population_by_name.csv", names)


def network(out: Path) -> None:
    grid_network(out / "network/island.osm", island="t")
    grid_network(out / "network/island_ring.osm", island="ring")
    _text(
        out / "network/scenario_island_lscp.yaml",
        _variant(
            "a lane inside 李庄村 that reaches no other street, and the LSCP model",
            "inputs:\n  network: {osm_file: island.osm}\nmodel:\n  name: lscp\n",
        ),
    )


def models(out: Path) -> None:
    """A demand x site matrix of walking metres (empty: out of reach), with the elderly per
    row: site S4 reaches nobody within 900 m; demand d5 is out of every site's reach."""
    rows: list[list[object]] = [["demand", "elderly", "S1", "S2", "S3", "S4"]]
    rows += [
        ["d1", 120, 300, None, 1500, None],
        ["d2", 80, 850, 700, None, None],
        ["d3", 60, None, 200, 950, 1200],
        ["d4", 150, None, None, 400, None],
        ["d5", 40, None, None, None, None],
    ]
    _csv(out / "models/cost_5x4.csv", rows, encoding="utf-8")
    _text(
        out / "models/scenario_p_too_large.yaml",
        _variant("more new sites than candidates", f"model: {{p: {len(CANDIDATES) + 1}}}\n"),
    )
    _csv(out / "models/candidates_none.csv", [candidate_rows()[0]])
    _text(
        out / "models/scenario_no_candidates.yaml",
        _variant(
            "a candidate file holding no candidate",
            "inputs:\n  candidates: {path: candidates_none.csv, coord_system: wgs84}\n",
        ),
    )


def scenarios(out: Path) -> None:
    d = out / "scenarios"
    _text(d / "unknown_key.yaml", _variant("a misspelt key", "coverage: {walk_sped_mps: 1.0}\n"))
    _text(
        d / "wrong_type_negative_radius.yaml",
        _variant(
            "a negative radius and a word for p",
            "coverage: {rural_radius_m: -1000}\nmodel: {p: two}\n",
        ),
    )
    _text(
        d / "missing_path.yaml",
        _variant(
            "a network file that does not exist", "inputs:\n  network: {osm_file: nowhere.osm}\n"
        ),
    )
    _text(d / "python_tag.yaml", "name: !!python/object/apply:os.system ['echo hacked']\n")
    # an output folder holding a bureau's own file, and a file where a folder is expected
    _text(out / "outputs/foreign_folder/会议记录.txt", "2024年1月 选址会议记录\n")
    _text(out / "outputs/not_a_folder", "a file, not a folder\n")
    # an error page where Overpass's JSON should be
    _text(
        out / "download/overpass_rate_limited.html",
        "<html><body><h1>429 Too Many Requests</h1><p>rate limited</p></body></html>\n",
    )


WRITERS = (mini, coords, text, geometry, values, network, models, scenarios)


def build(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    for write in WRITERS:
        write(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    args = parser.parse_args(argv)
    if not args.check:
        build(OUT)
        print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files in {OUT}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "reliability"
        build(fresh)
        new = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        old = {p.relative_to(OUT) for p in OUT.rglob("*") if p.is_file()}
        differ = sorted(p for p in new & old if not filecmp.cmp(fresh / p, OUT / p, shallow=False))
        problems = [f"differs: {p}" for p in differ]
        problems += [f"missing: {p}" for p in sorted(new - old)]
        problems += [f"not generated: {p}" for p in sorted(old - new)]
    print("\n".join(problems) or "the committed fixtures are what make_fixtures.py writes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `siting` from the checkout
    sys.exit(main())
