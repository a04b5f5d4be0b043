"""What every network source does once its lines are read: report what it left out and why,
finish the graph (simplified, projected, the largest connected piece named), choose the metric
CRS, log the connected pieces."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from siting._errors import NetworkError
from siting._record import warn

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)


def _report_left_out(left_out: Counter[str], *, kept: int, name: Path) -> None:
    log.info(
        "%s: %d way(s) are streets; left out: %s",
        name.name,
        kept,
        ", ".join(f"{n:,} {why}" for why, n in sorted(left_out.items())) or "none",
    )
    unknown = {why.split("=", 1)[1]: n for why, n in left_out.items() if why.startswith("unknown")}
    if unknown:
        shown = sorted(unknown, key=lambda v: (-unknown[v], v))
        warn(
            "osm_unknown_highway",
            f"{name}: {sum(unknown.values()):,} way(s) with a highway value pedestrians are not "
            "known to use were left out of the walking network: "
            + ", ".join(f"highway={v!r} ({unknown[v]:,})" for v in shown[:20])
            + ("..." if len(shown) > 20 else "")
            + "; if one is a street, correct its tag in the OSM data (the values walked: "
            "siting.network.WALKABLE_HIGHWAYS)",
            shown,
            zh=f"{name}：{sum(unknown.values()):,} 条道路的 highway 值不属于已知可供行人通行的"
            "类别，未纳入步行网络："
            + "，".join(f"highway={v!r}（{unknown[v]:,} 条）" for v in shown[:20])
            + ("……" if len(shown) > 20 else "")
            + "；若其中有可步行的街道，请在 OSM 数据中更正其标签（纳入步行的值见 "
            "siting.network.WALKABLE_HIGHWAYS）",
        )


def _finish(G: nx.MultiDiGraph, *, source: str, class_nodes: bool = True) -> nx.MultiDiGraph:
    """Drop lone nodes, simplify, report the pieces: the last step of every OSM source.

    Simplified only after filtering, so no merged edge mixes walkable and forbidden pieces;
    ``class_nodes`` keeps the nodes where the street class changes (where a lane of houses
    meets a main road).
    """
    import osmnx as ox

    G.remove_nodes_from([n for n, d in list(G.degree()) if d == 0])
    if G.number_of_edges() == 0:
        raise NetworkError(f"{source}: no walkable ways")
    # remove_rings=False: a detached ring of lanes (an island, a walled estate) is a piece of
    # street the component statistics must count, not noise to drop
    G = ox.simplify_graph(
        G, edge_attrs_differ=["highway"] if class_nodes else None, remove_rings=False
    )
    log_components(G, source=source)
    return G


def metric_crs(crs: str) -> str:
    """``crs`` if it measures in metres; a geographic or unknown CRS is an error, since every
    length, snap and radius would silently be in degrees."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as exc:
        raise NetworkError(f"`crs` {crs!r} is not a coordinate reference system: {exc}") from exc
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if parsed.is_geographic or unit not in ("metre", "meter"):
        raise NetworkError(
            f"`crs` {crs!r} ({parsed.name}) measures in {unit or 'no unit'}, not metres: "
            "lengths and radii would be wrong. Give a projected CRS in metres, e.g. "
            "siting.coords.analysis_crs(longitude) (a CGCS2000 3-degree Gauss-Kruger zone)"
        )
    return crs


def log_components(G: nx.MultiDiGraph, *, source: str) -> None:
    """Log the size of the largest connected piece and how much lies outside it."""
    import networkx as nx

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
