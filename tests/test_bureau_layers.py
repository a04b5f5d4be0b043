"""Bureau-shaped layers (issue 13, part 2), each run against the tidy demo it was made from.

The layers are the example set ``data/examples/bureau/``, made from ``data/`` by
:mod:`siting.demo.bureau` (``python -m siting.demo data``):

- 社区/村 as points (居委会 locations): ``社区居委会点位.geojson``, the demo communities'
  representative points; their cells are derived (siting.inputs.cells);
- facilities as an Amap export: ``养老设施_高德导出.xlsx``, the demo facilities in GCJ-02 with
  Amap's Chinese headers (名称 类型 经度 纬度 地址 床位数 建筑面积), no id, no land;
- candidates as parcels: ``闲置地块.geojson``, a square around each demo candidate point with
  the demo's land as its area, no name; 用地面积 given for the first five only.

Each is run here in the demo scenario in place of its tidy layer, one change at a time;
``scenarios/examples/`` combine them (tests/test_population.py runs that).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from siting._errors import InputDataError
from siting._record import recording
from siting.demo.bureau import (
    FILES,
    LAND_GIVEN,
    amap_facilities,
    parcels_candidates,
    points_communities,
)
from siting.pipeline.cache import RunCache

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
BUREAU = DATA / "examples" / "bureau"
DEMO = ROOT / "scenarios" / "demo.yaml"
POINTS = BUREAU / FILES["bureau_community_points"]
AMAP = BUREAU / FILES["bureau_facilities"]
PARCELS = BUREAU / FILES["bureau_candidates"]
AMAP_COLUMNS = {
    "name": "名称",
    "address": "名称",  # one file column feeding two canonical names
    "type": "类型",
    "lon": "经度",
    "lat": "纬度",
    "beds": "床位数",
    "floor_area_m2": "建筑面积",
}


# -- the example layers, made from the demo ----------------------------------------------------


def test_the_example_layers_are_made_from_the_demo() -> None:
    # the bytes are checked with the rest of data/ in test_demo.py
    for path, made in ((POINTS, points_communities(DATA)), (PARCELS, parcels_candidates(DATA))):
        pd.testing.assert_frame_equal(gpd.read_file(path), made, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_excel(AMAP), amap_facilities(DATA), check_dtype=False)
    assert not {"id", "land_area_m2", "编号", "用地面积"} & set(pd.read_excel(AMAP).columns)
    assert all(f.stat().st_size < 50_000 for f in BUREAU.iterdir())


# -- runs -----------------------------------------------------------------------------------


def _scenario(folder: Path, name: str, **inputs: str) -> Path:
    """The demo scenario with some inputs replaced (YAML flow mappings), paths absolute."""
    text = DEMO.read_text(encoding="utf-8").replace("../data/", f"{DATA.as_posix()}/")
    text = text.replace("name: demo\n", f"name: {name}\n")
    lines = []
    for line in text.splitlines():
        key = line.strip().split(":")[0]
        lines.append(f"  {key}: {inputs[key]}" if line.startswith("  ") and key in inputs else line)
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cache() -> RunCache:
    return RunCache()


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bureau")
    amap = json.dumps({"path": str(AMAP), "coord_system": "gcj02", "columns": AMAP_COLUMNS})
    parcels = {"path": str(PARCELS), "coord_system": "wgs84"}
    parcels["columns"] = {"id": "地块编号", "land_area_m2": "用地面积"}  # type: ignore[assignment]
    return {
        "points": _scenario(folder, "points", communities=json.dumps({"path": str(POINTS)})),
        "amap": _scenario(folder, "amap", facilities=amap),
        "parcels": _scenario(folder, "parcels", candidates=json.dumps(parcels)),
    }


@pytest.fixture(scope="module")
def points_run(scenarios: dict[str, Path], cache: RunCache):
    from siting.pipeline.stages import run
    from siting.scenario import load

    return run(load(scenarios["points"]), cache=cache)


@pytest.fixture(scope="module")
def amap_run(scenarios: dict[str, Path], cache: RunCache):
    from siting.pipeline.stages import run
    from siting.scenario import load

    return run(load(scenarios["amap"]), cache=cache)


@pytest.fixture(scope="module")
def parcels_run(scenarios: dict[str, Path], cache: RunCache):
    from siting.pipeline.stages import run
    from siting.scenario import load

    fac = pd.read_csv(DATA / "facilities" / "demo_facilities.csv", encoding="utf-8-sig")
    nameless = gpd.GeoDataFrame(
        fac.drop(columns=["name", "lon", "lat"]),
        geometry=gpd.points_from_xy(fac["lon"], fac["lat"]),
        crs=4326,
    )
    return run(load(scenarios["parcels"]), cache=cache, facilities=nameless)


def _figures(res) -> tuple[float, float, float]:
    s = res.summary
    return s["elderly_total"], s["covered_before"]["elderly"], s["covered_after"]["elderly"]


def test_points_give_the_polygon_runs_elderly_and_close_coverage(points_run, demo_result) -> None:
    points, tidy = _figures(points_run), _figures(demo_result)
    assert points[0] == tidy[0] == 96_615.0  # every 社区/村's elderly, spread over its cell
    # cells are not the polygons: nodes near a boundary change 社区/村, so partial shares move
    # (measured: before 49,183.7 vs 49,167.4, after 71,935.6 vs 72,190.9)
    assert points[1] == pytest.approx(tidy[1], rel=0.01)
    assert points[2] == pytest.approx(tidy[2], rel=0.01)
    summary = points_run.summary
    assert summary["community_geometry"] == "points"
    assert demo_result.summary["community_geometry"] == "polygons"
    (note,) = [n for n in points_run.warnings if n.code == "community_cells_derived"]
    assert "165 cells were derived" in note.message
    assert POINTS.name in note.message
    assert len(note.ids) == 165


def test_cells_cover_every_community_and_stay_in_their_street(points_run) -> None:
    inp = points_run.inputs
    crs = points_run.crs
    cells = inp.communities.to_crs(crs)
    points = inp.community_points.to_crs(crs)
    streets = inp.streets.to_crs(crs)
    assert inp.community_geometry == "points"
    assert set(cells.index) == set(points.index)
    assert cells.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert cells.geometry.covers(points.reindex(cells.index)).all()
    own = streets.geometry.reindex(cells["street_code"]).to_numpy()
    outside = shapely.area(shapely.difference(cells.geometry.to_numpy(), own))
    assert outside.max() < 1.0  # m²: clipped to the 街道/乡镇
    for code, members in cells.groupby("street_code"):  # a partition of each 街道/乡镇
        assert members.area.sum() == pytest.approx(streets.loc[code].geometry.area, rel=1e-6)
        assert members.geometry.union_all().area == pytest.approx(members.area.sum(), rel=1e-6)
    # every 社区/村 has street nodes inside its cell: no fallback to the nearest node
    assert "demand_at_nearest_node" not in {n.code for n in points_run.warnings}


def test_the_map_draws_derived_cells_dashed_with_a_legend_note(points_run, demo_result) -> None:
    from siting.outputs import tables as report
    from siting.outputs.webmap import page as maps

    html = maps.build_map(points_run, report.proposed_table(points_run)).get_root().render()
    assert '"dashArray": "4 3"' in html
    assert "siting-cells" in html
    assert "派生单元" in html
    tidy = maps.build_map(demo_result, report.proposed_table(demo_result)).get_root().render()
    assert "siting-cells" not in tidy
    assert '"dashArray": "4 3"' not in tidy


def _points_file(tmp_path: Path, change) -> Path:
    frame = points_communities(DATA)
    change(frame)
    path = tmp_path / "points_bad.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def _cells_of(path: Path):
    from siting.inputs.cells import derive_cells
    from siting.inputs.layers import read_boundaries

    streets = read_boundaries(DATA / "boundaries" / "demo_streets.geojson", level="streets")
    points = read_boundaries(path, level="communities", points=True)
    return derive_cells(points, streets, source=str(path))


def test_community_points_outside_their_street_or_shared_are_refused(tmp_path: Path) -> None:
    def far(frame: gpd.GeoDataFrame) -> None:
        frame.loc[0, "geometry"] = shapely.Point(116.5, 35.77)  # ~130 km east

    first = points_communities(DATA)
    neighbour = first.index[(first["street_code"] != first.loc[0, "street_code"])][0]

    def elsewhere(frame: gpd.GeoDataFrame) -> None:
        frame.loc[0, "geometry"] = frame.loc[neighbour, "geometry"].buffer(1e-5).boundary.centroid

    def shared(frame: gpd.GeoDataFrame) -> None:
        frame.loc[2, "geometry"] = frame.loc[1, "geometry"]

    code = first.loc[0, "code"]
    with pytest.raises(InputDataError) as err:
        _cells_of(_points_file(tmp_path, far))
    text = str(err.value)
    assert "points_bad.geojson" in text
    assert "outside every 街道/乡镇" in text
    assert code in text
    assert "check their coordinates" in text
    with pytest.raises(InputDataError) as err:
        _cells_of(_points_file(tmp_path, elsewhere))
    text = str(err.value)
    assert f"{code} (street_code {first.loc[0, 'street_code']}, stands in" in text
    assert "correct the street_code or the point" in text
    with pytest.raises(InputDataError) as err:
        _cells_of(_points_file(tmp_path, shared))
    text = str(err.value)
    assert f"{first.loc[1, 'code']} and {first.loc[2, 'code']}" in text
    assert "give each 社区/村 its own" in text


def test_point_layers_are_refused_for_streets_and_mixed_layers(tmp_path: Path) -> None:
    from siting.inputs.layers import read_boundaries

    streets = gpd.read_file(DATA / "boundaries" / "demo_streets.geojson")
    streets["geometry"] = streets.geometry.representative_point()
    path = tmp_path / "streets_as_points.geojson"
    streets.to_file(path, driver="GeoJSON")
    with pytest.raises(
        InputDataError, match=r"(?s)streets_as_points.*`inputs.streets` must be the"
    ):
        read_boundaries(path, level="streets", points=True)
    polygons = gpd.read_file(DATA / "boundaries" / "demo_communities.geojson")
    mixed = pd.concat([points_communities(DATA).iloc[:3], polygons.iloc[3:6]])
    path = tmp_path / "mixed.geojson"
    gpd.GeoDataFrame(mixed, crs=4326).to_file(path, driver="GeoJSON")
    with pytest.raises(
        InputDataError, match=r"(?s)mixed\.geojson.*3 point\(s\) mixed with 3 Polygon"
    ):
        read_boundaries(path, level="communities", points=True)
    # without points=True (scripts, compare), a point layer is no boundary layer
    with pytest.raises(InputDataError, match=r"derive cells"):
        read_boundaries(POINTS, level="communities")


# -- Amap facilities --------------------------------------------------------------------------


def test_amap_facilities_give_the_wgs84_demos_coverage(amap_run, demo_result) -> None:
    assert _figures(amap_run) == _figures(demo_result)
    assert amap_run.solution.selected == demo_result.solution.selected
    fac, tidy = amap_run.inputs.facilities, demo_result.inputs.facilities
    assert list(fac.index) == [f"F{k:04d}" for k in range(1, len(tidy) + 1)]
    crs = demo_result.crs
    moved = fac.geometry.to_crs(crs).distance(tidy.geometry.to_crs(crs).set_axis(fac.index))
    assert moved.max() < 0.05  # m: GCJ-02 rounded to 7 decimals, converted back exactly
    assert (fac["address"] == fac["name"]).all()  # 名称 fed both
    assert fac["name"].tolist() == tidy["name"].tolist()
    (note,) = [n for n in amap_run.warnings if n.code == "ids_generated"]
    assert AMAP.name in note.message
    assert "F0001–F0030" in note.message
    assert note.ids == tuple(fac.index)


def test_facilities_without_land_are_no_data_never_a_failed_zero(amap_run, demo_result) -> None:
    land = amap_run.land.set_index("unit")
    assert land.loc["total", "facilities_without_land"] == len(amap_run.inputs.facilities)
    assert (land["provided_m2"] == 0).all()
    has = land["facilities_without_land"] > 0
    assert land.loc[has, "pass"].isna().all()  # short on known land, some unknown: no verdict
    assert (land.loc[~has, "pass"] == False).all()  # noqa: E712  # no facility: a real 0
    comp = amap_run.compliance
    rows = comp[(comp["rule"] == "land_per_capita") & (comp["stage"] == "现状")]
    assert rows["pass"].isna().sum() == has.sum()
    assert rows.loc[rows["pass"].isna(), "note"].str.contains("处设施缺少用地面积数据").all()
    assert {n.code for n in amap_run.warnings} >= {"ids_generated", "facilities_without_land"}
    (note,) = [n for n in amap_run.warnings if n.code == "facilities_without_land"]
    assert note.message.startswith(f"{AMAP}: 30 of 30 facilities have no land figure")
    assert "never these as 0 m²" in note.message
    assert (demo_result.land["facilities_without_land"] == 0).all()
    assert demo_result.land["pass"].notna().all()


def test_mapped_columns_are_copied_and_checked(tmp_path: Path) -> None:
    from siting.inputs.layers import read_points

    with pytest.warns(UserWarning, match="numbered F0001"):
        fac = read_points(
            AMAP, role="facilities", coord_system="gcj02", columns=AMAP_COLUMNS, id_prefix="F"
        )
    assert fac["name"].tolist() == fac["address"].tolist()
    assert "名称" not in fac
    assert "地址" in fac  # unmapped columns stay
    wrong = {**AMAP_COLUMNS, "land_area_m2": "占地面积"}
    with pytest.raises(InputDataError) as err:
        read_points(AMAP, role="facilities", coord_system="gcj02", columns=wrong, id_prefix="F")
    text = str(err.value)
    assert text.startswith(f"{AMAP}: 1 problem")
    assert "`columns:` maps 'land_area_m2' to '占地面积', which is not a column" in text
    assert "fix the name in the scenario" in text
    # without id_prefix (the in-memory path, or a caller that wants ids) an id is required
    with pytest.raises(InputDataError, match=r"column 'id' is missing"):
        read_points(AMAP, role="facilities", coord_system="gcj02", columns=AMAP_COLUMNS)


def test_bad_figures_name_the_file_column_rows_and_fix(tmp_path: Path) -> None:
    from siting.inputs.layers import read_points

    table = amap_facilities(DATA)
    table["床位数"] = table["床位数"].astype(object)
    table.loc[2, "床位数"] = "二十张"
    table.loc[4, "建筑面积"] = -5
    table.loc[6, "建筑面积"] = None  # an empty cell: no figure, fine
    path = tmp_path / "amap_bad.xlsx"
    table.to_excel(path, index=False)
    with pytest.raises(InputDataError) as err, pytest.warns(UserWarning, match="numbered"):
        read_points(
            path,
            role="facilities",
            coord_system="gcj02",
            columns=AMAP_COLUMNS,
            numeric=["beds", "floor_area_m2"],
            may_be_empty=["beds", "floor_area_m2"],
            id_prefix="F",
        )
    text = str(err.value)
    assert str(path) in text
    assert (
        "column '床位数' (beds) is non-numeric or negative on file lines [4] (ids ['F0003']" in text
    )
    assert "column '建筑面积' (floor_area_m2) is non-numeric or negative on file lines [6]" in text
    assert "give a number >= 0 or leave the cell empty" in text


# -- parcels ----------------------------------------------------------------------------------


def test_parcels_take_land_from_their_area_and_sites_at_the_edge_nearest_a_street(
    parcels_run, demo_result, scenarios: dict[str, Path], cache: RunCache
) -> None:
    import osmnx as ox

    from siting.pipeline.stages import prepared
    from siting.scenario import load

    cand, tidy = parcels_run.inputs.candidates, demo_result.inputs.candidates
    parcels = parcels_run.inputs.parcels
    assert list(cand.index) == list(tidy.index)
    assert set(parcels.index) == set(cand.index)
    assert (cand.geometry.geom_type == "Point").all()
    from_area = cand["land_source"].str.startswith("parcel area (EPSG:4547)")
    assert (~from_area).sum() == LAND_GIVEN
    assert (cand.loc[~from_area, "land_area_m2"] == tidy.loc[~from_area, "land_area_m2"]).all()
    # the squares were drawn with the demo's land as their area
    assert cand["land_area_m2"].to_numpy() == pytest.approx(tidy["land_area_m2"], abs=2.0)
    (note,) = [n for n in parcels_run.warnings if n.code == "candidate_land_from_parcel_area"]
    assert "69 of 74 candidate parcel(s)" in note.message
    assert "EPSG:4547" in note.message
    # each site is the parcel's point nearest a street: on the parcel, as near as it gets
    with recording():  # the run's warnings again
        prep = prepared(load(scenarios["parcels"]), cache=cache)
    assert prep is not None
    G = prep.net.to_graph()  # the graph a user can ask for: edges drawn as the streets run
    edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).geometry.union_all()
    crs = G.graph["crs"]
    sites = cand.geometry.to_crs(crs)
    shapes = parcels.to_crs(crs).reindex(cand.index)
    assert shapes.distance(sites).max() < 0.01
    assert sites.distance(edges).to_numpy() == pytest.approx(
        shapes.distance(edges).to_numpy(), abs=0.01
    )
    assert cand["parcel_street_m"].to_numpy() == pytest.approx(
        shapes.distance(edges).to_numpy(), abs=0.1
    )
    away = shapes.distance(edges) > 0.5
    assert away.any()
    assert shapes[away].boundary.distance(sites[away]).max() < 0.01  # on the edge
    (note,) = [n for n in parcels_run.warnings if n.code == "candidate_sites_on_parcels"]
    assert note.message.startswith("74 candidate(s) are parcels")


def test_parcel_runs_cover_like_the_demo_and_draw_the_parcels(
    parcels_run, demo_result, tmp_path: Path
) -> None:
    from siting.outputs import tables as report
    from siting.outputs.webmap import page as maps

    total, before, after = _figures(parcels_run)
    assert (total, before) == _figures(demo_result)[:2]  # the same facilities, nameless
    # sites moved onto the streets: measured 72,270.2 after vs 72,190.9
    assert after == pytest.approx(_figures(demo_result)[2], rel=0.01)
    assert "name" not in parcels_run.inputs.facilities
    assert "name" not in parcels_run.inputs.candidates
    proposed = report.proposed_table(parcels_run)
    assert proposed["name"].tolist() == proposed["id"].tolist()
    html = maps.build_map(parcels_run, proposed).get_root().render()
    assert html.count('"type": "Polygon"') >= (
        maps.build_map(demo_result, report.proposed_table(demo_result))
        .get_root()
        .render()
        .count('"type": "Polygon"')
        + len(parcels_run.inputs.parcels)
    )
    written = parcels_run.write(tmp_path / "out")
    assert {"map", "report", "png", "gpkg"} <= set(written)
    comp = pd.read_csv(tmp_path / "out" / "compliance.csv", encoding="utf-8-sig")
    assert comp["unit_name"].notna().all()


def test_parcels_refuse_lines_and_invalid_polygons(tmp_path: Path) -> None:
    from siting.inputs.layers import read_points

    frame = parcels_candidates(DATA)
    frame.loc[1, "geometry"] = shapely.LineString([(115.01, 35.76), (115.02, 35.77)])
    bow = shapely.Polygon([(115.01, 35.76), (115.02, 35.77), (115.02, 35.76), (115.01, 35.77)])
    frame.loc[3, "geometry"] = bow
    path = tmp_path / "parcels_bad.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(InputDataError) as err:
        read_points(
            path, role="candidates", coord_system="wgs84", parcels=True, columns={"id": "地块编号"}
        )
    text = str(err.value)
    assert text.startswith(f"{path}: 2 problems")
    assert (
        "1 LineString where sites must be points or parcel polygons: features [2] (ids ['C002'])"
        in text
    )
    assert "invalid parcel polygon(s) (self-intersections): features [4] (ids ['C004'])" in text
    assert "QGIS: Fix geometries" in text
    # facilities stay points
    with pytest.raises(InputDataError, match=r"73 Polygon, 1 LineString where sites must be point"):
        read_points(path, role="facilities", coord_system="wgs84", columns={"id": "地块编号"})


def test_a_community_point_on_its_own_street_border_is_inside(tmp_path: Path) -> None:
    """A 居委会 point exactly on its 街道's border (a vertex) was refused as '0 m' outside."""
    import shapely

    streets = gpd.read_file(DATA / "boundaries" / "demo_streets.geojson").set_index("code")

    def to_border(frame: gpd.GeoDataFrame) -> None:
        street = frame.loc[0, "street_code"]
        x, y = shapely.get_coordinates(streets.geometry[street].exterior)[3]
        frame.loc[0, "geometry"] = shapely.Point(x, y)

    from siting import SitingWarning

    with pytest.warns(SitingWarning, match="cells were derived"):
        cells = _cells_of(_points_file(tmp_path, to_border))
    assert len(cells) == len(points_communities(DATA))
