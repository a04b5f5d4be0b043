"""The walking network: an OSM file read by osmnx, made walkable, projected to metres.

Walking ignores one-way rules, so every way is read in both directions. Ways a pedestrian may
not use (motorways, ``foot=no``, ``access=private`` without ``foot=yes``) are dropped before the
graph is simplified to intersections and dead ends.
Disconnected pieces are kept and reported: demand on an island is honestly unreachable.
"""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import osmnx as ox

from siting._errors import InputFileNotFoundError, NetworkError

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
        OpenStreetMap XML, such as an extract from a planet mirror or the demo city's file.
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
