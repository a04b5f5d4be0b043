"""The walking graph from an OSM file: walkable ways only, both directions, in metres."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from pyproj import Geod

from siting import InputFileNotFoundError, NetworkError
from siting.network.osm_file import walk_graph_from_osm_file


def _osm(path: Path, ways: list[tuple[list[int], dict[str, str]]]) -> Path:
    nodes = {
        1: (35.750, 115.000),
        2: (35.750, 115.002),
        3: (35.751, 115.002),
        4: (35.751, 115.004),
        5: (35.752, 115.004),
        6: (35.752, 115.006),
    }
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6'>"]
    lines += [f"<node id='{n}' lat='{la}' lon='{lo}'/>" for n, (la, lo) in nodes.items()]
    for k, (refs, tags) in enumerate(ways, 1):
        lines.append(f"<way id='{k}'>")
        lines += [f"<nd ref='{r}'/>" for r in refs]
        lines += [f"<tag k='{key}' v='{v}'/>" for key, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_one_way_streets_walk_both_ways_and_motorways_are_dropped(tmp_path: Path) -> None:
    path = _osm(
        tmp_path / "t.osm",
        [
            ([1, 2, 3], {"highway": "residential", "oneway": "yes", "name": "幸福路"}),
            ([3, 4], {"highway": "footway"}),
            ([4, 5], {"highway": "motorway"}),
            ([5, 6], {"highway": "primary", "foot": "no"}),
            ([2, 4], {"highway": "service", "access": "private"}),
        ],
    )
    G = walk_graph_from_osm_file(path, crs="EPSG:4547")
    assert G.graph["crs"] == "EPSG:4547"
    # 5 and 6 only had ways a pedestrian may not use; 2 is a bend once the private way is gone;
    # 3 stays because the street class changes there (residential -> footway)
    assert set(G.nodes) == {1, 3, 4}
    assert nx.has_path(G, 3, 1)
    assert nx.has_path(G, 1, 3)
    length = nx.shortest_path_length(G, 1, 4, weight="length")
    geodesic = Geod(ellps="WGS84").line_length(
        [115.000, 115.002, 115.002, 115.004], [35.750, 35.750, 35.751, 35.751]
    )
    # osmnx measures great circles on a sphere: within 0.2 % of the ellipsoid (~472 m here)
    assert length == pytest.approx(geodesic, rel=2e-3)


def test_missing_and_unwalkable_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError):
        walk_graph_from_osm_file(tmp_path / "none.osm", crs="EPSG:4547")
    only_motorway = _osm(tmp_path / "m.osm", [([1, 2, 3], {"highway": "motorway"})])
    with pytest.raises(NetworkError, match="no walkable ways"):
        walk_graph_from_osm_file(only_motorway, crs="EPSG:4547")


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")  # a .shp with no .prj
def test_bureau_road_layer_in_gcj02_gives_the_osm_answer(demo_copy: Path, demo_result) -> None:
    """The demo's streets as a GCJ-02 Shapefile without .prj: same coverage as the OSM file."""
    import geopandas as gpd
    import numpy as np
    import osmnx as ox
    import shapely

    from siting.coords import wgs84_to_gcj02
    from siting.pipeline.stages import run
    from siting.scenario import load

    G = walk_graph_from_osm_file(demo_copy.parent.parent / "data/network/demo.osm", crs="EPSG:4547")
    edges = ox.graph_to_gdfs(G, nodes=False).reset_index()
    edges = edges[edges["u"] < edges["v"]].to_crs(4326)  # one line per street segment

    def to_gcj(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    roads = gpd.GeoDataFrame(
        {"highway": edges["highway"].astype(str).str.strip("[]'").str.split("'").str[0]},
        geometry=shapely.transform(edges.geometry.to_numpy(), to_gcj),
    )
    roads.to_file(demo_copy.parent / "道路_gcj02.shp")  # written without a .prj
    text = demo_copy.read_text(encoding="utf-8").replace(
        "network: {osm_file: ../data/network/demo.osm}",
        "network: {road_layer: 道路_gcj02.shp, coord_system: gcj02}",
    )
    demo_copy.write_text(text, encoding="utf-8")
    res = run(load(demo_copy))
    w = res.demand["weight"]
    share = (w * res.demand["covered_before"]).sum() / w.sum()
    w0 = demo_result.demand["weight"]
    share0 = (w0 * demo_result.demand["covered_before"]).sum() / w0.sum()
    # aligned: the same share as from the OSM file (unconverted, it is 1.2 points off) ...
    assert share == pytest.approx(share0, abs=0.002)
    # ... and facilities stand ~18 m from their street, as in the demo (unconverted: ~500 m)
    assert res.problem.sites["snap_m"].median() < 30
    text = text.replace(", coord_system: gcj02", "")
    demo_copy.write_text(text, encoding="utf-8")
    from siting import InputDataError

    with pytest.raises(InputDataError, match="declare its `coord_system`"):
        run(load(demo_copy))


def test_osm_pbf_extract_reads_like_the_xml(tmp_path: Path) -> None:
    osmium = pytest.importorskip("osmium")
    xml = Path(__file__).resolve().parents[1] / "data" / "network" / "demo.osm"
    pbf = tmp_path / "demo.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:  # the same data, as a PBF extract
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    from_xml = walk_graph_from_osm_file(xml, crs="EPSG:4547")
    from_pbf = walk_graph_from_osm_file(pbf, crs="EPSG:4547")
    assert from_pbf.number_of_nodes() == from_xml.number_of_nodes()
    assert from_pbf.number_of_edges() == from_xml.number_of_edges()
    assert sum(d for _, _, d in from_pbf.edges(data="length")) == pytest.approx(
        sum(d for _, _, d in from_xml.edges(data="length"))
    )


# --- only streets are streets (issue 11) -------------------------------------------------------

DATA = Path(__file__).parent / "data" / "network"
NOT_STREET_NODES = {100, 101, 102, 103, 110, 111, 112, 113, 200, 201, 300, 301, 400, 401}
GRID = set(range(1, 26))  # the street nodes of buildings.osm


def _without_non_streets(src: Path, dst: Path) -> Path:
    """The same OSM file with every way lacking a highway tag deleted."""
    import xml.etree.ElementTree as ET

    tree = ET.parse(src)
    root = tree.getroot()
    for way in root.findall("way"):
        if not any(t.get("k") == "highway" for t in way.findall("tag")):
            root.remove(way)
    tree.write(dst, encoding="utf-8", xml_declaration=True)
    return dst


def test_buildings_landuse_railways_and_rivers_never_become_streets() -> None:
    import osmnx as ox

    raw = ox.graph_from_xml(DATA / "buildings.osm", simplify=False, retain_all=True)
    assert set(raw.nodes) >= NOT_STREET_NODES  # what osmnx alone makes of the file
    G = walk_graph_from_osm_file(DATA / "buildings.osm", crs="EPSG:4547")
    assert not NOT_STREET_NODES & set(G.nodes)
    assert set(G.nodes) <= GRID
    ways = {w for _, _, o in G.edges(data="osmid") for w in (o if isinstance(o, list) else [o])}
    assert ways <= set(range(1, 11)) | {16}  # grid streets and the pedestrian square
    assert 16 in ways  # an area=yes pedestrian square's ring is a street
    assert all(d.get("highway") for _, _, d in G.edges(data=True))
    # the glued-on landuse ring and the railway would have been shortcuts: none is walked
    assert nx.shortest_path_length(G, 7, 19, weight="length") > 350  # by rail: 286 m


def test_a_facility_inside_buildings_joins_the_street_grid_with_unchanged_coverage(
    tmp_path: Path,
) -> None:
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point, box

    from siting.network.distances import cost_matrix
    from siting.problem.demand import demand_points
    from siting.problem.sites import snap_sites

    facility = gpd.GeoDataFrame(
        geometry=[Point(115.0015, 35.7515)], index=["F1"], crs="EPSG:4326"
    ).to_crs("EPSG:4547")
    community = gpd.GeoDataFrame(
        {"elderly_60plus": [1154.0]},
        index=["410902001001"],
        geometry=[box(114.9995, 35.7495, 115.0045, 35.7545)],
        crs="EPSG:4326",
    ).to_crs("EPSG:4547")
    plain = _without_non_streets(DATA / "buildings.osm", tmp_path / "plain.osm")
    answers = []
    for path in (DATA / "buildings.osm", plain):
        G = walk_graph_from_osm_file(path, crs="EPSG:4547")
        site = snap_sites(facility, G, role="facilities", warn_beyond_m=200)
        pts = demand_points(community, G)
        m = cost_matrix(G, pts["node"], site["node"], cutoff_m=250.0, site_offset_m=site["snap_m"])
        covered = float(pts["weight"].to_numpy()[np.diff(m.indptr) > 0].sum())
        answers.append((site.loc["F1", "node"], round(site.loc["F1", "snap_m"], 6), covered))
    assert answers[0] == answers[1]
    assert answers[0][0] in {7, 8, 12, 13}  # a corner of the facility's block
    assert 60 < answers[0][1] < 80
    assert 0 < answers[0][2] < 1154.0  # the facility covers part of the grid, as it should


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({"highway": "residential"}, None),
        ({"highway": "pedestrian", "area": "yes"}, None),
        ({"highway": "footway", "footway": "sidewalk"}, None),
        ({"highway": "trunk"}, None),
        ({"highway": "service", "access": "private", "foot": "yes"}, None),
        ({"highway": "service", "access": "no", "foot": "permissive"}, None),
        ({"highway": "cycleway", "foot": "designated"}, None),
        ({"building": "yes"}, "building"),
        ({"landuse": "residential"}, "landuse"),
        ({"railway": "rail"}, "railway"),
        ({"waterway": "river"}, "waterway"),
        ({"natural": "water"}, "natural"),
        ({"area": "yes", "name": "广场"}, "area"),
        ({"name": "无名"}, "no highway tag"),
        ({"highway": "motorway", "foot": "yes"}, "highway=motorway"),
        ({"highway": "motorway_link"}, "highway=motorway_link"),
        ({"highway": "construction"}, "highway=construction"),
        ({"highway": "proposed"}, "highway=proposed"),
        ({"highway": "platform"}, "highway=platform"),
        ({"highway": "busway"}, "highway=busway"),
        ({"highway": "raceway"}, "highway=raceway"),
        ({"highway": "cycleway"}, "highway=cycleway without foot=yes"),
        ({"highway": "primary", "foot": "no"}, "foot=no"),
        ({"highway": "primary", "foot": "use_sidepath"}, "foot=use_sidepath"),
        ({"highway": "service", "access": "private"}, "access=private"),
        ({"highway": "trunk", "motorroad": "yes"}, "motorroad=yes"),
        ({"highway": "residental"}, "unknown highway=residental"),
    ],
)
def test_the_walking_rule(tags: dict[str, str], why: str | None) -> None:
    from siting.network.walk_rule import why_not_walked

    assert why_not_walked(tags) == why


def test_unknown_highway_values_are_left_out_and_reported(tmp_path: Path) -> None:
    from siting._record import RecordedWarning

    path = _osm(
        tmp_path / "t.osm",
        [([1, 2, 3], {"highway": "residential"}), ([3, 4], {"highway": "residental"})],
    )
    with pytest.warns(RecordedWarning, match=r"highway='residental' \(1\)") as caught:
        G = walk_graph_from_osm_file(path, crs="EPSG:4547")
    assert [w.message.code for w in caught] == ["osm_unknown_highway"]
    assert set(G.nodes) == {1, 3}


def test_a_street_cut_at_the_extract_edge_is_named(tmp_path: Path) -> None:
    path = _osm(tmp_path / "t.osm", [([1, 2, 7], {"highway": "residential"})])
    with pytest.raises(NetworkError, match=r"1 street\(s\) refer to 1 node\(s\) missing.*'7'"):
        walk_graph_from_osm_file(path, crs="EPSG:4547")


# --- road layers with Chinese classes ------------------------------------------------------------

ROADS = DATA / "roads_cn.geojson"
LIVED = {"residential", "service", "footway", "pedestrian"}


def _classes(G: nx.MultiDiGraph, node: int) -> set[str]:
    return {h for _, _, h in G.edges(node, data="highway")}


def test_chinese_road_classes_map_to_osm_values_and_motorways_are_not_walked() -> None:
    from collections import Counter

    from siting.network.road_layer import walk_graph_from_road_layer

    G = walk_graph_from_road_layer(ROADS, crs="EPSG:4547", highway_column="道路等级")
    lines = Counter((c, h) for _, _, c, h in _edge_pairs(G))
    assert ("主干路", "primary") in lines
    assert ("Ⅰ级主干路", "primary") in lines  # Roman numerals as bureaus write them
    assert ("次干路", "secondary") in lines
    assert ("支路", "residential") in lines
    assert ("街巷", "residential") in lines
    assert ("内部道路", "service") in lines
    assert ("人行道", "footway") in lines
    assert ("步行街", "pedestrian") in lines
    assert ("乡道", "tertiary") in lines
    assert ("村道", "unclassified") in lines
    assert not {c for c, _ in lines} & {"高速公路", "快速路"}
    assert "motorway" not in {h for _, h in lines}
    assert G.number_of_nodes() == 28  # the 25 grid nodes and the country road's 3, no more


def _edge_pairs(G: nx.MultiDiGraph) -> list[tuple[int, int, str, str]]:
    return [(u, v, d["road_class"], d["highway"]) for u, v, d in G.edges(data=True)]


def test_demand_lands_only_on_lanes_compound_roads_and_footpaths() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from siting.network.road_layer import walk_graph_from_road_layer
    from siting.problem.demand import demand_points

    G = walk_graph_from_road_layer(ROADS, crs="EPSG:4547", highway_column="道路等级")
    x0, y0 = 590449, 3958265  # the grid's south-west corner: the fixture was drawn from it
    community = gpd.GeoDataFrame(
        {"elderly_60plus": [600.0]},
        index=["410902001001"],
        geometry=[box(x0 - 50, y0 - 50, x0 + 450, y0 + 450)],
        crs="EPSG:4547",
    )
    pts = demand_points(community, G)
    assert (pts["how"] == "street").all()
    assert pts["weight"].sum() == pytest.approx(600.0)
    on = set(pts["node"])
    assert all(_classes(G, n) & LIVED for n in on)
    inside = [
        n
        for n, d in G.nodes(data=True)
        if x0 - 50 < d["x"] < x0 + 450 and y0 - 50 < d["y"] < y0 + 450
    ]
    main_roads_only = [n for n in inside if not _classes(G, n) & LIVED]
    assert len(main_roads_only) == 10  # 主干路/次干路 nodes hold no demand
    assert not on & set(main_roads_only)
    assert len(on) == 15


def test_an_unknown_road_class_stops_with_counts_and_the_yaml_to_add(tmp_path: Path) -> None:
    import geopandas as gpd
    import yaml

    from siting import InputDataError
    from siting.network.road_layer import walk_graph_from_road_layer

    roads = gpd.read_file(ROADS)
    roads.loc[[0, 1], "道路等级"] = "规划二路"
    roads.loc[2, "道路等级"] = "专线"
    path = tmp_path / "道路.gpkg"
    roads.to_file(path)
    with pytest.raises(InputDataError) as err:
        walk_graph_from_road_layer(path, crs="EPSG:4547", highway_column="道路等级")
    text = str(err.value)
    assert "道路.gpkg" in text and "'道路等级'" in text  # noqa: PT018
    assert "'规划二路' (2 line(s))" in text and "'专线' (1 line(s))" in text  # noqa: PT018
    snippet = yaml.safe_load(text[text.index("\n  network:") :])
    assert snippet == {"network": {"walkable": {"规划二路": "proposed", "专线": "TODO"}}}
    G = walk_graph_from_road_layer(
        path,
        crs="EPSG:4547",
        highway_column="道路等级",
        walkable={"规划二路": "proposed", "专线": "footway", "快速路": "trunk"},
    )
    assert {"footway", "trunk"} <= {h for _, _, h in G.edges(data="highway")}
    assert "proposed" not in {h for _, _, h in G.edges(data="highway")}


def test_a_layer_without_class_column_needs_highway_column_none(tmp_path: Path) -> None:
    import geopandas as gpd

    from siting import InputDataError
    from siting._record import RecordedWarning
    from siting.network.road_layer import walk_graph_from_road_layer

    path = tmp_path / "roads.geojson"
    gpd.read_file(ROADS).drop(columns="道路等级").to_file(path)
    with pytest.raises(InputDataError, match=r"roads.geojson.*'highway'.*道路名称.*none"):
        walk_graph_from_road_layer(path, crs="EPSG:4547")
    with pytest.raises(InputDataError, match="'道路等级'"):
        walk_graph_from_road_layer(path, crs="EPSG:4547", highway_column="道路等级")
    with pytest.warns(RecordedWarning) as caught:
        G = walk_graph_from_road_layer(path, crs="EPSG:4547", highway_column=None)
    assert [w.message.code for w in caught] == [
        "road_layer_without_classes",
        "road_layer_split_at_junctions",  # the fixture has a road running on through one
    ]
    assert G.number_of_nodes() == 32  # the expressway and motorways are walked too
    assert {h for _, _, h in G.edges(data="highway")} == {"road"}


def test_class_codes_and_the_scenario_mapping() -> None:
    import numpy as np
    import pandas as pd

    from siting.network.walk_rule import classify_roads

    codes = pd.Series([1.0, 2.0, np.nan, 2.0])
    osm = classify_roads(
        codes, walkable={"1": "primary", "2": "residential", "": "service"}, where="t"
    )
    assert osm.tolist() == ["primary", "residential", "service", "residential"]
    names = pd.Series([" 主干路", "ＩＩ级支路", "Residential", "footway"])
    assert classify_roads(names, where="t").tolist() == [
        "primary",
        "residential",
        "residential",
        "footway",
    ]


def test_the_class_table_covers_the_bureaus_classes() -> None:
    from importlib import resources

    import yaml

    from siting.network.walk_rule import KNOWN_HIGHWAYS, road_classes

    table = road_classes()
    expected = {
        "高速公路": "motorway",
        "高速": "motorway",
        "快速路": "motorway",
        "主干路": "primary",
        "次干路": "secondary",
        "支路": "residential",
        "街巷": "residential",
        "内部道路": "service",
        "人行道": "footway",
        "步行街": "pedestrian",
        "国道": "trunk",
        "省道": "primary",
        "县道": "secondary",
        "乡道": "tertiary",
        "村道": "unclassified",
    }
    assert {k: table[k] for k in expected} == expected
    assert set(table.values()) <= KNOWN_HIGHWAYS
    text = (
        resources.files("siting.network")
        .joinpath("network_classes.yaml")
        .read_text(encoding="utf-8")
    )
    entries = yaml.safe_load(text)["classes"]
    names = [n for e in entries for n in e["names"]]
    assert len(names) == len(set(names))  # each class in one entry only
    assert all(e.get("source") for e in entries)


def test_scenario_network_options_are_strict(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from siting.scenario import Network

    net = Network(road_layer=ROADS, highway_column="道路等级", walkable={1: "residential"})
    assert net.walkable == {"1": "residential"}
    assert net.class_column == "道路等级"
    assert Network(road_layer=ROADS, highway_column="none").class_column is None
    with pytest.raises(ValidationError, match=r"not OSM highway values.*'TODO'"):
        Network(road_layer=ROADS, walkable={"专线": "TODO"})
    with pytest.raises(ValidationError, match="`walkable` apply to a `road_layer` only"):
        Network(osm_file=DATA / "buildings.osm", walkable={"专线": "footway"})
    with pytest.raises(ValidationError, match="`highway_column` apply to a `road_layer` only"):
        Network(download=True, highway_column="道路等级")


def test_outlines_with_a_highway_tag_and_deleted_ways_are_not_streets(tmp_path: Path) -> None:
    """An adversarial file: a shortcut between two far corners of the grid drawn as a building
    or landuse outline with a highway tag, and as a way an editor deleted (JOSM keeps it with
    action="delete"; a history answer has visible="false"): none of them may be walked."""
    text = (DATA / "buildings.osm").read_text(encoding="utf-8")
    shortcuts = "".join(
        f"<way id='{900 + k}'{attrs}><nd ref='1'/><nd ref='25'/>{tags}</way>\n"
        for k, (attrs, tags) in enumerate(
            [
                ("", "<tag k='highway' v='footway'/><tag k='building' v='yes'/>"),
                ("", "<tag k='highway' v='footway'/><tag k='landuse' v='grass'/>"),
                (" action='delete'", "<tag k='highway' v='residential'/>"),
                (" visible='false'", "<tag k='highway' v='residential'/>"),
            ]
        )
    )
    odd = tmp_path / "odd.osm"
    odd.write_text(text.replace("</osm>", shortcuts + "</osm>"), encoding="utf-8")
    clean = walk_graph_from_osm_file(DATA / "buildings.osm", crs="EPSG:4547")
    G = walk_graph_from_osm_file(odd, crs="EPSG:4547")
    assert G.number_of_edges() == clean.number_of_edges()
    assert not G.has_edge(1, 25)


def test_a_road_layer_not_split_at_junctions_is_split_there(tmp_path: Path) -> None:
    """Roads that run on through crossings (most CAD layers): side streets meeting a road at
    an inner vertex join it there; a line crossing without a shared vertex (a bridge) does not;
    polygons in a road layer are reported, not silently dropped."""
    import geopandas as gpd
    import shapely

    from siting._record import recording
    from siting.network.road_layer import walk_graph_from_road_layer

    base = (115.0, 35.75)
    deg = 1e-3  # about 90-110 m

    def at(x: float, y: float) -> tuple[float, float]:
        return (base[0] + x * deg, base[1] + y * deg)

    layer = gpd.GeoDataFrame(
        {"道路等级": ["主干路", "支路", "支路", "支路"]},
        geometry=[
            shapely.LineString([at(0, 0), at(1, 0), at(2, 0)]),  # through the junction at (1, 0)
            shapely.LineString([at(1, 0), at(1, 1)]),  # a side street meeting it there
            shapely.LineString([at(1.5, -0.5), at(1.5, 0.5)]),  # a bridge: no shared vertex
            shapely.Polygon([at(3, 3), at(3, 4), at(4, 4)]),  # not a road
        ],
        crs=4326,
    )
    path = tmp_path / "roads.gpkg"
    layer.to_file(path)
    with recording() as rec:
        G = walk_graph_from_road_layer(path, crs="EPSG:4547", highway_column="道路等级")
    codes = {n.code for n in rec.notes}
    assert {"road_layer_split_at_junctions", "road_layer_not_lines"} <= codes
    import networkx as nx

    pieces = sorted(len(c) for c in nx.weakly_connected_components(G))
    assert pieces == [2, 4]  # the side street joined the road; the bridge stays apart


@pytest.mark.parametrize(
    "path",
    [Path(__file__).resolve().parents[1] / "data/network/demo.osm", DATA / "buildings.osm"],
    ids=["demo", "buildings"],
)
def test_arrays_reader_gives_the_osmnx_loaders_network(path: Path) -> None:
    """pyosmium + numpy simplification = osmnx's graph_from_xml + simplify_graph +
    project_graph: the same nodes where they were, the same streets with the same lengths."""
    from siting.network.osm_file import osmnx_graph_from_osm_file, walk_network_from_osm_file

    net = walk_network_from_osm_file(path, crs="EPSG:4547")
    G = osmnx_graph_from_osm_file(path, crs="EPSG:4547")
    assert set(net.node_ids.tolist()) == set(G.nodes)
    at = dict(zip(net.node_ids.tolist(), zip(net.x, net.y, strict=True), strict=True))
    for n, d in G.nodes(data=True):
        assert at[n] == pytest.approx((d["x"], d["y"]), abs=1e-6)

    def shortest(pairs: list[tuple[int, int, float]]) -> dict[tuple[int, int], float]:
        out: dict[tuple[int, int], float] = {}
        for a, b, w in pairs:
            if a != b:
                key = (min(a, b), max(a, b))
                out[key] = min(out.get(key, np.inf), w)
        return out

    ids = net.node_ids
    ours = shortest([(ids[a], ids[b], w) for a, b, w in zip(net.u, net.v, net.length, strict=True)])
    theirs = shortest([(a, b, d["length"]) for a, b, d in G.edges(data=True)])
    assert ours.keys() == theirs.keys()
    assert max(abs(ours[k] - theirs[k]) for k in ours) < 1e-6


_GRID_NODES = "".join(
    f"<node id='{i}' lat='{35.75 + 0.001 * (i // 3)}' lon='{115.0 + 0.001 * (i % 3)}'/>"
    for i in range(1, 10)
)


def _osm_text(ways: str, nodes: str = _GRID_NODES) -> str:
    return f"<?xml version='1.0' encoding='UTF-8'?><osm version='0.6'>{nodes}{ways}</osm>"


_ODD_FILES = {
    # libosmium keeps only the <nd>s before a way's first <tag>: the XML filter reads them all
    "nodes after the tag": "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='highway' "
    "v='residential'/><nd ref='3'/><nd ref='6'/></way>",
    # osmnx reads a node repeated in a row once (no self-loop, no extra endpoint)
    "a node repeated in a row": "<way id='1'><nd ref='1'/><nd ref='2'/><nd ref='2'/>"
    "<nd ref='3'/><tag k='highway' v='residential'/></way>",
    # a comment (or `</tag >`) between a way's tag and its later nodes
    "a comment after the tag": "<way id='1'><nd ref='1'/><tag k='highway' v='residential'/>"
    "<!-- edited --><nd ref='2'/><nd ref='3'/></way>",
    "</tag > before the nodes": "<way id='1'><nd ref='1'/><tag k='highway' v='residential'>"
    "</tag ><nd ref='2'/><nd ref='3'/></way>",
    # a deleted way marked with spaces around '='
    "action = delete": "<way id='1'><nd ref='1'/><nd ref='2'/><nd ref='3'/><tag k='highway' "
    "v='residential'/></way><way id='2' action = 'delete'><nd ref='3'/><nd ref='6'/>"
    "<tag k='highway' v='residential'/></way><way id='3'><nd ref='3'/><nd ref='9'/>"
    "<tag k='highway' v='footway'/></way>",
}


@pytest.mark.parametrize("case", sorted(_ODD_FILES))
def test_odd_osm_files_read_as_the_osmnx_loader_reads_them(tmp_path: Path, case: str) -> None:
    from siting.network.osm_file import osmnx_graph_from_osm_file, walk_network_from_osm_file

    path = tmp_path / "odd.osm"
    path.write_text(_osm_text(_ODD_FILES[case]), encoding="utf-8")
    net = walk_network_from_osm_file(path, crs="EPSG:4547")
    G = osmnx_graph_from_osm_file(path, crs="EPSG:4547")
    assert set(net.node_ids.tolist()) == set(G.nodes)
    graph = net.to_graph()
    for a in G.nodes:
        want = nx.single_source_dijkstra_path_length(G, a, weight="length")
        got = nx.single_source_dijkstra_path_length(graph, a, weight="length")
        assert got.keys() == want.keys()
        assert all(got[b] == pytest.approx(want[b]) for b in want)


def test_a_node_written_twice_is_read_at_its_last_position(tmp_path: Path) -> None:
    """A history answer or a merged file: the last version of a node and of a way count."""
    from siting.network.osm_file import walk_network_from_osm_file

    moved = "<node id='3' lat='35.80' lon='115.002'/>"
    ways = (
        "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='highway' v='residential'/></way>"
        "<way id='1'><nd ref='1'/><nd ref='2'/><nd ref='3'/><tag k='highway' "
        "v='residential'/></way>"
    )
    path = tmp_path / "twice.osm"
    path.write_text(_osm_text(ways, _GRID_NODES + moved), encoding="utf-8")
    net = walk_network_from_osm_file(path, crs="EPSG:4547")
    assert net.n_edges == 1  # the way's last version, once
    y3 = net.y[net.node_ids.tolist().index(3)]
    y1 = net.y[net.node_ids.tolist().index(1)]
    assert y3 - y1 > 5000  # 35.80, not 35.75


def test_files_named_anyhow_and_negative_ids_are_read(tmp_path: Path) -> None:
    """Overpass saves `interpreter`, exports may be NETWORK.OSM, JOSM's new objects have
    negative ids: all read; a comma decimal is an error naming the file."""
    from siting.network.osm_file import walk_network_from_osm_file

    way = "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='highway' v='residential'/></way>"
    for name in ("interpreter", "NETWORK.OSM"):
        (tmp_path / name).write_text(_osm_text(way), encoding="utf-8")
        assert walk_network_from_osm_file(tmp_path / name, crs="EPSG:4547").n_edges == 1
    negative = _osm_text(
        way.replace("'1'", "'-1'").replace("'2'", "'-2'"), _GRID_NODES.replace("id='", "id='-")
    )
    (tmp_path / "josm.osm").write_text(negative, encoding="utf-8")
    net = walk_network_from_osm_file(tmp_path / "josm.osm", crs="EPSG:4547")
    assert sorted(net.node_ids.tolist()) == [-2, -1]
    comma = _osm_text(way, _GRID_NODES.replace("lat='35.75'", "lat='35,75'"))
    (tmp_path / "comma.osm").write_text(comma, encoding="utf-8")
    with pytest.raises(NetworkError, match=r"comma\.osm: cannot be read.*decimal point"):
        walk_network_from_osm_file(tmp_path / "comma.osm", crs="EPSG:4547")


def test_a_truncated_gzip_is_an_error_naming_the_file(tmp_path: Path) -> None:
    import gzip

    way = "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='highway' v='residential'/></way>"
    whole = gzip.compress(_osm_text(way * 200).encode())
    path = tmp_path / "cut.osm.gz"
    path.write_bytes(whole[: len(whole) // 2])
    from siting.network.osm_file import walk_network_from_osm_file

    with pytest.raises(NetworkError, match=r"cut\.osm\.gz: cannot be read.*cut short or damaged"):
        walk_network_from_osm_file(path, crs="EPSG:4547")


def test_a_ways_last_version_decides_even_when_it_is_not_walkable(tmp_path: Path) -> None:
    """A history answer: footway v1, then v2 under construction. The osmnx loader walks v1
    (it keeps every version); the way is gone."""
    from siting.network.osm_file import walk_network_from_osm_file

    ways = (
        "<way id='1'><nd ref='1'/><nd ref='2'/><nd ref='3'/><tag k='highway' "
        "v='residential'/></way><way id='2'><nd ref='3'/><nd ref='6'/><tag k='highway' "
        "v='footway'/></way><way id='2'><nd ref='3'/><nd ref='6'/><tag k='highway' "
        "v='construction'/></way>"
    )
    path = tmp_path / "versions.osm"
    path.write_text(_osm_text(ways), encoding="utf-8")
    net = walk_network_from_osm_file(path, crs="EPSG:4547")
    assert sorted(net.node_ids.tolist()) == [1, 3]


def test_an_empty_road_layer_says_so(tmp_path: Path) -> None:
    import geopandas as gpd

    from siting.network.road_layer import walk_network_from_road_layer

    path = tmp_path / "empty.gpkg"
    frame = gpd.GeoDataFrame({"highway": gpd.pd.Series([], dtype=str)}, geometry=[], crs=4547)
    frame.to_file(path)
    with pytest.raises(NetworkError, match=r"empty\.gpkg: no walkable lines"):
        walk_network_from_road_layer(path, crs="EPSG:4547")
