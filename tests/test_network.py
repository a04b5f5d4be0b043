"""The walking graph from an OSM file: walkable ways only, both directions, in metres."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from pyproj import Geod

from siting import InputFileNotFoundError, NetworkError
from siting.network import walk_graph_from_osm_file


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
    from siting.pipeline import run
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
    assert res.sites["snap_m"].median() < 30
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
