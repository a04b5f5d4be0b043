"""Benchmark workloads: the shared synthetic cities and the real Jinan network.

Nothing here is copied into the repository: the cities are generated on first use by
``../shared/bench/gen_city.py`` (seed 42) into ``benchmarks/.cities/`` (git-ignored), and Jinan
is read in place from ``../shared/data/jinan``. Set ``SITING_SHARED`` to use another folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cities"


def shared_dir() -> Path:
    return Path(os.environ.get("SITING_SHARED", ROOT.parent / "shared"))


@dataclass(frozen=True)
class Workload:
    """One distance job: a graph as edge arrays, demand and site nodes, a radius."""

    name: str
    edges: dict[str, NDArray[np.float64]]  # x, y, u, v, length (metres)
    demand_node: NDArray[np.int64]
    demand_w: NDArray[np.float64]
    site_node: NDArray[np.int64]
    radius_m: float


def city(size: str) -> Workload:
    """A shared benchmark city (generated once into the cache), with its 1,000 m radius."""
    path = CACHE / f"city_{size}.npz"
    if not path.exists():
        gen = shared_dir() / "bench" / "gen_city.py"
        if not gen.exists():
            raise SystemExit(f"benchmark generator {gen} not found; set SITING_SHARED")
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, str(gen), size], check=True, env={**os.environ, "CITY_OUT": str(CACHE)}
        )
    c = np.load(path)
    edges = {k: c[k] for k in ("x", "y", "u", "v", "length")}
    return Workload(
        size,
        edges,
        c["demand_node"].astype(np.int64),
        c["demand_w"],
        c["cand_node"].astype(np.int64),
        1000.0,
    )


def jinan_dir() -> Path:
    return shared_dir() / "data" / "jinan"


def jinan(*, walk_speed_mps: float = 1.0, minutes: float = 15.0) -> Workload:
    """Jinan's real road network; each district's census 60+ spread over its residential street
    nodes; every node a candidate; the 15-minute circle at ``walk_speed_mps``."""
    from siting.coords import analysis_crs
    from siting.network.distances import walk_arrays
    from siting.network.road_layer import walk_graph_from_road_layer
    from siting.problem.demand import demand_points

    data = jinan_dir()
    districts = gpd.read_file(data / "districts_cgcs2000.geojson")
    crs = analysis_crs(float(districts.to_crs(4326).union_all().centroid.x))
    G = walk_graph_from_road_layer(data / "road_edges.shp", crs=crs, layer_crs="EPSG:4326")
    census = pd.read_csv(data / "census2020_districts.csv", dtype={"区划代码": str})
    units = jinan_demand_units(districts, census).to_crs(crs)
    units = units[covered_by_network(units, G)]
    pts = demand_points(units, G)
    arrays = walk_arrays(G)
    pos = {n: i for i, n in enumerate(arrays.node_ids.tolist())}
    x = np.array([G.nodes[n]["x"] for n in arrays.node_ids])
    y = np.array([G.nodes[n]["y"] for n in arrays.node_ids])
    coo = arrays.adjacency.tocoo()
    upper = coo.row < coo.col
    edges = {
        "x": x,
        "y": y,
        "u": coo.row[upper].astype(np.int64),
        "v": coo.col[upper].astype(np.int64),
        "length": coo.data[upper],
    }
    return Workload(
        "jinan",
        edges,
        np.array([pos[n] for n in pts["node"]], dtype=np.int64),
        pts["weight"].to_numpy(),
        np.arange(len(x), dtype=np.int64),
        minutes * 60.0 * walk_speed_mps,
    )


def covered_by_network(units: gpd.GeoDataFrame, G: object) -> NDArray[np.bool_]:
    """Units with at least one street node inside; the others are listed on stderr.

    The road extract covers central Jinan only: a district with no node inside has nowhere to
    put its elderly, and is left out rather than piled onto a node kilometres away.
    """
    import osmnx as ox

    nodes = ox.graph_to_gdfs(G, edges=False)
    inside = gpd.sjoin(
        nodes[["geometry"]], units[["geometry"]].rename_axis("unit"), predicate="within"
    )
    keep = units.index.isin(inside["unit"].unique())
    left_out = units.loc[~keep, "name"].tolist()
    if left_out:
        print(
            f"jinan: {len(left_out)} district(s) have no street node in the extract and are "
            f"left out: {', '.join(left_out)}",
            file=sys.stderr,
        )
    return keep


def jinan_demand_units(districts: gpd.GeoDataFrame, census: pd.DataFrame) -> gpd.GeoDataFrame:
    """Districts with polygons joined to the census by code, as demand units.

    The city-total row and districts without a polygon (the development zone ``370171``) are
    not spread: they have no area of their own to spread over.
    """
    table = census.assign(code=census["区划代码"].astype(str)).set_index("code")
    units = districts.assign(code=districts["adcode"].astype(str)).set_index("code")
    joined = units.join(table[["pop_60plus"]], how="inner")
    return joined.rename(columns={"pop_60plus": "elderly_60plus"})
