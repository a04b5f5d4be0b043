"""The walking network: an OSM file read by osmnx, made walkable, projected to metres.

Walking ignores one-way rules, so every way is read in both directions. Ways a pedestrian may
not use (motorways, ``foot=no``, ``access=private`` without ``foot=yes``) are dropped before the
graph is simplified to intersections and dead ends.
Disconnected pieces are kept and reported: demand on an island is honestly unreachable.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely

from siting._errors import InputDataError, InputFileNotFoundError, NetworkError
from siting.coords import GEOGRAPHIC_EPSG, to_wgs84
from siting.io.read import read_vector

log = logging.getLogger(__name__)

NOT_WALKABLE_HIGHWAYS = frozenset({"motorway", "motorway_link", "construction", "proposed"})
_EXTRA_WAY_TAGS = ("foot",)


def _first(value: object) -> str:
    """osmnx stores merged tags as lists; take the first for classification."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _walkable(data: dict[str, object]) -> bool:
    if _first(data.get("highway")) in NOT_WALKABLE_HIGHWAYS:
        return False
    foot = _first(data.get("foot"))
    if foot == "no":
        return False
    return not (_first(data.get("access")) in {"private", "no"} and foot != "yes")


def walk_graph_from_osm_file(path: str | Path, *, crs: str) -> nx.MultiDiGraph:
    """Read an OSM XML file (``.osm``) into a projected walking graph.

    Parameters
    ----------
    path
        OpenStreetMap XML (``.osm``), such as the demo city's file, or a ``.osm.pbf`` extract
        (converted to XML with pyosmium first).
    crs
        The metric analysis CRS to project to (see :func:`siting.coords.analysis_crs`).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx graph in ``crs``; edge attribute ``length`` in metres, both directions present.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"network file {str(path)!r} does not exist")
    if path.name.lower().endswith(".pbf"):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return walk_graph_from_osm_file(_pbf_to_xml(path, Path(tmp)), crs=crs)
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = saved + [t for t in _EXTRA_WAY_TAGS if t not in saved]
    try:
        G = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    except Exception as exc:  # osmnx raises bare errors on malformed or empty files
        raise NetworkError(f"{path}: cannot be read as an OSM XML street network ({exc})") from exc
    finally:
        ox.settings.useful_tags_way = saved
    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _walkable(d)]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise NetworkError(f"{path}: no walkable ways in the file")
    if drop:
        log.info("dropped %d edge(s) pedestrians may not use", len(drop))
    # simplify only after filtering, so no merged edge mixes walkable and forbidden pieces;
    # keep nodes where the street class changes (where a lane of houses meets a main road)
    G = ox.simplify_graph(G, edge_attrs_differ=["highway"])
    log_components(G, source=path.name)
    return ox.project_graph(G, to_crs=crs)


def walk_graph_from_road_layer(
    path: str | Path,
    *,
    crs: str,
    layer_crs: str | None = None,
    coord_system: str | None = None,
    highway_column: str = "highway",
    layer: str | None = None,
    snap_m: float = 0.5,
    encoding: str | None = None,
) -> nx.MultiDiGraph:
    """Build a projected walking graph from a road line layer (the bureau's own roads).

    Line ends closer than ``snap_m`` become one node; each line is one edge, walked both ways,
    its length measured in the metric ``crs``. Lines whose ``highway_column`` value pedestrians
    may not use (motorways) are dropped; a layer without that column keeps every line.

    Parameters
    ----------
    path
        Shapefile, GeoPackage or GeoJSON of LineStrings (MultiLineStrings are split).
    crs
        The metric analysis CRS.
    layer_crs
        The layer's CRS when the file has none (a Shapefile without ``.prj``), e.g.
        ``"EPSG:4326"``; never assumed.
    coord_system
        Or the lon/lat system of a layer without a CRS: ``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09`` (the last two are converted to WGS-84 vertex by vertex).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"road layer {str(path)!r} does not exist")
    lines = read_vector(path, layer=layer, encoding=encoding)
    if lines.crs is None:
        if layer_crs is None and coord_system is None:
            raise InputDataError(
                f"{path}: the road layer has no coordinate reference system "
                "(no .prj?); declare its `coord_system` (wgs84, cgcs2000, "
                "gcj02, bd09) in the scenario's inputs.network"
            )
        lines = lines.set_crs(layer_crs or f"EPSG:{GEOGRAPHIC_EPSG.get(coord_system or '', 4326)}")
    if coord_system in ("gcj02", "bd09"):
        lines = _to_wgs84_lines(lines, coord_system)
    lines = lines.explode(index_parts=False)
    lines = lines[lines.geometry.geom_type == "LineString"].to_crs(crs)
    if highway_column in lines:
        hw = lines[highway_column].astype(str)
        dropped = int(hw.isin(NOT_WALKABLE_HIGHWAYS).sum())
        lines = lines[~hw.isin(NOT_WALKABLE_HIGHWAYS)]
        log.info("%s: dropped %d line(s) pedestrians may not use", path.name, dropped)
    if lines.empty:
        raise NetworkError(f"{path}: no walkable lines in the layer")
    coords = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    xy, owner = coords[0], coords[1]
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    last = np.r_[first[1:] - 1, len(owner) - 1]
    ends = np.vstack([xy[first], xy[last]])
    keys = np.round(ends / snap_m).astype(np.int64)
    _, node_of, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    n_lines = len(lines)
    u, v = inverse[:n_lines], inverse[n_lines:]
    nodes = gpd.GeoDataFrame(
        {"x": ends[node_of, 0], "y": ends[node_of, 1]},
        index=pd.Index(np.arange(len(node_of)), name="osmid"),
        geometry=gpd.points_from_xy(ends[node_of, 0], ends[node_of, 1]),
        crs=crs,
    )
    attrs = {"length": lines.geometry.length.to_numpy(), "geometry": lines.geometry.to_numpy()}
    if highway_column in lines:
        attrs["highway"] = lines[highway_column].to_numpy()
    forward = pd.DataFrame(attrs).assign(u=u, v=v)
    backward = forward.assign(u=v, v=u, geometry=shapely.reverse(forward["geometry"]))
    edges = pd.concat([forward, backward], ignore_index=True)
    edges["key"] = edges.groupby(["u", "v"]).cumcount()
    edges = gpd.GeoDataFrame(edges.set_index(["u", "v", "key"]), geometry="geometry", crs=crs)
    G = ox.graph_from_gdfs(nodes, edges, graph_attrs={"crs": crs})
    log_components(G, source=path.name)
    return G


def _to_wgs84_lines(lines: gpd.GeoDataFrame, coord_system: str) -> gpd.GeoDataFrame:
    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], coord_system)
        return np.column_stack([lon, lat])

    out = lines.to_crs(4326).copy()
    out["geometry"] = shapely.transform(out.geometry.to_numpy(), move)
    log.info("road layer: converted %d lines from %s to WGS-84", len(out), coord_system)
    return out


def _pbf_to_xml(path: Path, folder: Path) -> Path:
    """Convert an ``.osm.pbf`` extract to OSM XML with pyosmium (``pip install siting[pbf]``)."""
    try:
        import osmium
    except ImportError as exc:
        raise NetworkError(
            f"{path}: reading .osm.pbf needs pyosmium: pip install "
            "'siting[pbf]' (or convert it to .osm XML with osmium-tool)"
        ) from exc
    xml = folder / (path.name.removesuffix(".pbf").removesuffix(".osm") + ".osm")
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(path)):
            writer.add(obj)
    log.info("converted %s to OSM XML for osmnx", path.name)
    return xml


def log_components(G: nx.MultiDiGraph, *, source: str) -> None:
    """Log the size of the largest connected piece and how much lies outside it."""
    parts = sorted((len(c) for c in nx.weakly_connected_components(G)), reverse=True)
    outside = sum(parts[1:])
    log.info(
        "walking network %s: %d nodes, %d edges, %d connected piece(s); largest %d nodes, "
        "%d node(s) in smaller pieces",
        source,
        G.number_of_nodes(),
        G.number_of_edges(),
        len(parts),
        parts[0],
        outside,
    )


def walk_graph_from_download(
    polygon: shapely.Geometry,
    *,
    crs: str,
    cache_dir: str | Path,
    attempts: int = 3,
    deadline_s: float = 600.0,
    backoff_s: float = 5.0,
) -> nx.MultiDiGraph:
    """Download the walking network inside ``polygon`` (WGS-84) with osmnx, when online.

    The download is cached as GraphML in ``cache_dir`` (written atomically, so an interrupted
    run leaves no partial file; an unreadable cache file is deleted and fetched again). At most
    ``attempts`` tries, the whole download bounded by ``deadline_s`` (osmnx itself re-tries
    some server answers without limit). A failure raises :class:`NetworkError` pointing to the
    offline way: an OSM extract given as ``inputs.network.osm_file``.
    """
    import concurrent.futures
    import hashlib
    import time

    import requests

    from siting.io.write import write_with

    key = hashlib.sha256(shapely.to_wkb(polygon) + ox.__version__.encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"walk_{key}.graphml"
    if cached.exists():
        try:
            stored = ox.load_graphml(cached)
            log.info("walking network from the download cache %s", cached)
            return ox.project_graph(stored, to_crs=crs)
        except Exception as exc:  # a damaged cache file is never used
            log.warning("download cache %s is unreadable (%s): fetching again", cached, exc)
            cached.unlink()
    saved = (ox.settings.use_cache, ox.settings.overpass_rate_limit)
    ox.settings.use_cache, ox.settings.overpass_rate_limit = False, False
    failures: list[str] = []
    start = time.monotonic()
    G: nx.MultiDiGraph | None = None
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        for attempt in range(1, attempts + 1):
            left = deadline_s - (time.monotonic() - start)
            if left <= 0:
                failures.append(f"the {deadline_s:.0f} s deadline passed")
                break
            job = pool.submit(
                ox.graph_from_polygon, polygon, network_type="walk", retain_all=True, simplify=True
            )
            try:
                G = job.result(timeout=left)
                break
            except concurrent.futures.TimeoutError:
                failures.append(f"attempt {attempt}: no answer within {left:.0f} s")
                break
            except (
                requests.RequestException,
                ox._errors.InsufficientResponseError,
                ox._errors.ResponseStatusCodeError,
                ValueError,
            ) as exc:
                failures.append(f"attempt {attempt}: {type(exc).__name__}: {exc}"[:300])
                if attempt < attempts:
                    time.sleep(min(backoff_s * attempt, max(left - 1.0, 0.0)))
    finally:
        ox.settings.use_cache, ox.settings.overpass_rate_limit = saved
        pool.shutdown(wait=False, cancel_futures=True)
    if G is None:
        raise NetworkError(
            "downloading the walking network failed (" + "; ".join(failures) + "). Work "
            "offline instead: save an OpenStreetMap extract of the district as .osm XML and set "
            "`inputs.network.osm_file` (or use the bureau's road layer, `road_layer`)"
        )
    write_with(cached, lambda tmp: ox.save_graphml(G, tmp))
    log_components(G, source="download")
    return ox.project_graph(G, to_crs=crs)
