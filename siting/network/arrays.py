"""The walking network as arrays: what every stage after the network stage reads.

:class:`WalkNetwork` holds the street nodes (ids, projected ``x``/``y``) and the walkable edges
(node positions ``u``/``v``, ``length`` in metres, the OSM ``highway`` class) of one network,
whichever source built it (an OSM file read by pyosmium, the bureau's road layer, a download).
No networkx graph is built on the way: demand spreading, snapping, parcels, service areas and
the distance kernel read these arrays. :meth:`WalkNetwork.to_graph` gives an osmnx-style
``MultiDiGraph`` to whoever wants one, and :meth:`WalkNetwork.from_graph` takes one in (the
public API accepts either).

:func:`simplify` merges the chains of street vertices between intersections and dead ends into
single edges (lengths added up), by the same rules as ``osmnx.simplify_graph`` with
``edge_attrs_differ=["highway"]`` and ``remove_rings=False``, so a network read here has the
nodes and edge lengths osmnx's loader gave (a test compares them). It is vectorised: the
segments meeting at a vertex that is not an endpoint are joined, and the joined groups are the
connected components of that segment graph (scipy), so no Python loop walks the chains.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from siting._errors import NetworkError

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from siting.network.distances import WalkArrays

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_009.0
"""The mean earth radius osmnx measures great-circle edge lengths with (IUGG), in metres."""


def great_circle_m(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Haversine distances in metres between points given in degrees (vectorised)."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, float)) - np.radians(np.asarray(lon1, float))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A projected walking network as arrays.

    Attributes
    ----------
    crs
        The metric CRS of ``x``/``y``.
    node_ids
        One id per node (OSM node ids, or positions for a road layer).
    x, y
        Node coordinates in ``crs`` (metres).
    u, v
        Each edge's end nodes as positions into ``node_ids``; every edge is walked both ways.
    length
        Each edge's walking length in metres.
    highway
        Each edge's OSM ``highway`` value (a road layer's classes are translated to these).
    drawn
        How the edges are drawn, for parcels and maps: line geometries (shapely array, one
        per edge), or straight pieces ``(k, 2, 2)`` covering all edges, or ``None`` (straight
        from ``u`` to ``v``).
    road_class
        A road layer's own class per edge (``None`` for OSM sources).
    osmid
        An OSM way each edge runs along (``None`` for other sources).
    drawn_edge
        With straight pieces in ``drawn``: the edge each piece belongs to.
    source
        What the network was read from, for messages.
    """

    crs: str
    node_ids: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    length: NDArray[np.float64]
    highway: NDArray[np.object_]
    drawn: NDArray[Any] | None = None
    road_class: NDArray[np.object_] | None = None
    osmid: NDArray[np.int64] | None = None
    drawn_edge: NDArray[np.int64] | None = None
    source: str = "network"

    def __post_init__(self) -> None:
        n, m = len(self.node_ids), len(self.u)
        if not (len(self.x) == len(self.y) == n) or not (len(self.v) == len(self.length) == m):
            raise NetworkError("walking network arrays differ in length")
        if len(self.highway) != m:
            raise NetworkError("walking network: one highway value per edge needed")

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    @cached_property
    def arrays(self) -> WalkArrays:
        """The symmetric CSR adjacency the distance kernel searches."""
        from siting.network.distances import WalkArrays

        if self.n_edges == 0:
            raise NetworkError(f"{self.source}: the walking network has no edges")
        return WalkArrays.from_edges(self.u, self.v, self.length, node_ids=self.node_ids)

    @cached_property
    def xy(self) -> NDArray[np.float64]:
        """Node coordinates as an ``(n, 2)`` array."""
        return np.column_stack([self.x, self.y])

    def nodes(self) -> gpd.GeoDataFrame:
        """The nodes as points, indexed by node id (``osmid``), with ``x``, ``y``."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {"x": self.x, "y": self.y},
            geometry=gpd.points_from_xy(self.x, self.y),
            index=pd.Index(self.node_ids, name="osmid"),
            crs=self.crs,
        )

    def lines(self) -> NDArray[Any]:
        """The streets as drawn: shapely lines (edges, or the straight pieces they run along)."""
        import shapely

        if self.drawn is None:
            return shapely.linestrings(
                np.stack([self.xy[self.u], self.xy[self.v]], axis=1).reshape(-1, 2, 2)
            )
        if self.drawn.dtype == object:
            return self.drawn
        return shapely.linestrings(self.drawn)

    @cached_property
    def piece(self) -> NDArray[np.int64]:
        """The connected piece of each node (``0`` the largest)."""
        n = self.n_nodes
        adj = sparse.coo_matrix((np.ones(self.n_edges), (self.u, self.v)), shape=(n, n))
        _, labels = connected_components(adj, directed=False)
        sizes = np.bincount(labels)
        rank = np.empty_like(sizes)
        rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
        return rank[labels].astype(np.int64)

    def lived_nodes(self, highways: frozenset[str] | set[str]) -> NDArray[np.bool_]:
        """Nodes at the end of an edge whose ``highway`` is one of ``highways``."""
        on = np.isin(self.highway, list(highways))
        out = np.zeros(self.n_nodes, dtype=bool)
        out[self.u[on]] = True
        out[self.v[on]] = True
        return out

    def log_pieces(self) -> None:
        """Log the size of the largest connected piece and how much lies outside it."""
        sizes = np.bincount(self.piece)
        log.info(
            "walking network %s: %d nodes, %d edges, %d connected piece(s); largest %d nodes, "
            "%d node(s) in smaller pieces",
            self.source,
            self.n_nodes,
            self.n_edges,
            len(sizes),
            sizes[0] if len(sizes) else 0,
            int(sizes[1:].sum()),
        )

    def to_graph(self) -> nx.MultiDiGraph:
        """An osmnx-style ``MultiDiGraph``: nodes with ``x``/``y``, each edge both ways with
        ``length`` and ``highway`` (and ``geometry`` when the edges carry their own lines)."""
        import networkx as nx

        G = nx.MultiDiGraph(crs=self.crs)
        G.add_nodes_from(
            (int(i), {"x": float(x), "y": float(y)})
            for i, x, y in zip(self.node_ids, self.x, self.y, strict=True)
        )
        ids = self.node_ids
        shapes = self.edge_lines()
        for k in range(self.n_edges):
            a, b = int(ids[self.u[k]]), int(ids[self.v[k]])
            data: dict[str, Any] = {"length": float(self.length[k]), "highway": self.highway[k]}
            if self.road_class is not None:
                data["road_class"] = self.road_class[k]
            if self.osmid is not None:
                data["osmid"] = int(self.osmid[k])
            if shapes is not None:
                import shapely

                G.add_edge(a, b, **data, geometry=shapes[k])
                G.add_edge(b, a, **data, geometry=shapely.reverse(shapes[k]))
            else:
                G.add_edge(a, b, **data)
                G.add_edge(b, a, **data)
        return G

    def edge_lines(self) -> NDArray[Any] | None:
        """One line per edge from ``u`` to ``v`` as drawn (``None``: straight lines)."""
        import shapely

        if self.drawn is None:
            return None
        if self.drawn.dtype == object:
            return self.drawn
        if self.drawn_edge is None:
            return None
        # chain each edge's straight pieces from its u end (pieces share exact coordinates)
        order = np.argsort(self.drawn_edge, kind="stable")
        bounds = np.searchsorted(self.drawn_edge[order], np.arange(self.n_edges + 1))
        out = np.empty(self.n_edges, dtype=object)
        for k in range(self.n_edges):
            pieces = self.drawn[order[bounds[k] : bounds[k + 1]]]
            at: dict[tuple[float, float], list[int]] = {}
            for i, (p, q) in enumerate(pieces):
                at.setdefault((p[0], p[1]), []).append(i)
                at.setdefault((q[0], q[1]), []).append(i)
            here = (float(self.x[self.u[k]]), float(self.y[self.u[k]]))
            line, used = [here], set()
            while True:
                nxt = [i for i in at.get(here, []) if i not in used]
                if not nxt:
                    break
                used.add(nxt[0])
                p, q = pieces[nxt[0]]
                here = (q[0], q[1]) if (p[0], p[1]) == here else (p[0], p[1])
                line.append(here)
            out[k] = (
                shapely.LineString(line)
                if len(line) > 1
                else shapely.LineString(
                    [line[0], (float(self.x[self.v[k]]), float(self.y[self.v[k]]))]
                )
            )
        return out

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, *, source: str = "graph") -> WalkNetwork:
        """Take a projected osmnx-style graph (nodes ``x``/``y``, edges ``length``)."""
        from pyproj import CRS

        crs = G.graph.get("crs")
        if crs is None or CRS.from_user_input(crs).is_geographic:
            raise NetworkError(
                "the walking graph is in lon/lat (or has no crs); project it to metres first "
                "(osmnx.project_graph)"
            )
        if G.number_of_edges() == 0:
            raise NetworkError("the walking graph has no edges")
        ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
        pos = {n: i for i, n in enumerate(ids.tolist())}
        x = np.fromiter((d["x"] for _, d in G.nodes(data=True)), float, count=len(ids))
        y = np.fromiter((d["y"] for _, d in G.nodes(data=True)), float, count=len(ids))
        u, v, length, highway, geoms = [], [], [], [], []
        for a, b, d in G.edges(data=True):
            u.append(pos[a])
            v.append(pos[b])
            length.append(d["length"])
            hw = d.get("highway", "road")
            highway.append(hw[0] if isinstance(hw, list) and hw else hw)
            geoms.append(d.get("geometry"))
        drawn = None
        if any(g is not None for g in geoms):
            import shapely

            straight = shapely.linestrings(
                np.stack([np.c_[x, y][u], np.c_[x, y][v]], axis=1).reshape(-1, 2, 2)
            )
            drawn = np.array(
                [g if g is not None else s for g, s in zip(geoms, straight, strict=True)],
                dtype=object,
            )
        return cls(
            crs=str(crs),
            node_ids=ids,
            x=x,
            y=y,
            u=np.asarray(u, np.int64),
            v=np.asarray(v, np.int64),
            length=np.asarray(length, float),
            highway=np.asarray(highway, dtype=object),
            drawn=drawn,
            source=source,
        )


@dataclass(frozen=True)
class Simplified:
    """:func:`simplify`'s answer: kept nodes and merged edges."""

    keep: NDArray[np.int64]  # positions of the kept nodes in the input
    u: NDArray[np.int64]  # positions into ``keep``
    v: NDArray[np.int64]
    length: NDArray[np.float64]
    segment_edge: NDArray[np.int64]  # for each input segment, its merged edge (-1: dropped)


def simplify(
    n: int,
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    length: NDArray[np.float64],
    cls: NDArray[np.int64] | None,
) -> Simplified:
    """Merge street vertices that are not endpoints into single edges.

    ``a``/``b`` are the undirected segments (node positions ``0..n-1``) as read, ``length``
    their lengths, ``cls`` an integer class per segment (the ``highway`` value) or ``None``.
    A node is an endpoint (kept) unless it has no self-loop, exactly two incident segments,
    two distinct neighbours and, with ``cls``, the same class on both: osmnx's rules for a
    graph whose every street is walked both ways. A ring of vertices with no endpoint stays as
    it is (``remove_rings=False``). A segment from a node to itself (a way repeating a node)
    carries no walk and is dropped; a chain that comes back to its start is a loop edge.
    """
    m = len(a)
    seg = np.arange(m, dtype=np.int64)
    loop = a == b
    looped = np.zeros(n, dtype=bool)
    looped[a[loop]] = True
    s, a1, b1 = seg[~loop], a[~loop], b[~loop]
    ends = np.r_[a1, b1]
    inc_seg = np.r_[s, s]
    other = np.r_[b1, a1]
    degree = np.bincount(ends, minlength=n)
    pairs = np.unique(ends * np.int64(n) + other)
    neighbours = np.bincount(pairs // n, minlength=n)
    interior = ~looped & (degree == 2) & (neighbours == 2)
    order = np.argsort(ends, kind="stable")
    first = np.searchsorted(ends[order], np.arange(n))  # first incidence of each node
    inner = np.flatnonzero(interior)
    s1 = inc_seg[order[first[inner]]]
    s2 = inc_seg[order[first[inner] + 1]]
    if cls is not None:
        same = cls[s1] == cls[s2]
        interior[inner[~same]] = False
        inner, s1, s2 = inner[same], s1[same], s2[same]
    joined = sparse.coo_matrix((np.ones(len(s1)), (s1, s2)), shape=(m, m))
    _, label = connected_components(joined, directed=False)
    # each group's ends: the incidences at endpoint nodes (two per chain, none on a ring)
    at_end = ~interior[ends]
    end_label = label[inc_seg[at_end]]
    end_node = ends[at_end]
    group_ends = np.bincount(end_label, minlength=label.max() + 1 if m else 0)
    ring_group = group_ends == 0
    ring_group[label[loop]] = False  # a self-loop is its own group: dropped below
    # a ring keeps every vertex and segment as it is
    ring_seg = ~loop & ring_group[label]
    keep_node = ~interior
    keep_node[a[ring_seg]] = True
    keep_node[b[ring_seg]] = True
    keep_node &= degree > 0
    keep = np.flatnonzero(keep_node)
    new_pos = np.full(n, -1, dtype=np.int64)
    new_pos[keep] = np.arange(len(keep))
    # chains: sort the end incidences by group, two per group
    by = np.argsort(end_label, kind="stable")
    end_label, end_node = end_label[by], end_node[by]
    chain_groups = end_label[0::2]
    if len(end_label) % 2 or (len(end_label) and (end_label[1::2] != chain_groups).any()):
        raise NetworkError("simplifying the walking network met a chain with one end")
    total = np.bincount(label[~loop], weights=length[~loop], minlength=len(group_ends))
    edge_of_group = np.full(len(group_ends), -1, dtype=np.int64)
    edge_of_group[chain_groups] = np.arange(len(chain_groups))
    cu = new_pos[end_node[0::2]]
    cv = new_pos[end_node[1::2]]
    clen = total[chain_groups]
    # rings: their segments as they are, numbered after the chains
    ring_idx = np.flatnonzero(ring_seg)
    u = np.r_[cu, new_pos[a[ring_idx]]]
    v = np.r_[cv, new_pos[b[ring_idx]]]
    lengths = np.r_[clen, length[ring_idx]]
    segment_edge = np.where(loop, -1, edge_of_group[label])
    segment_edge[ring_idx] = len(chain_groups) + np.arange(len(ring_idx))
    # a chain that came back to its own start stays, as osmnx keeps it: a loop edge
    return Simplified(keep, u.astype(np.int64), v.astype(np.int64), lengths, segment_edge)


def as_network(network: WalkNetwork | nx.MultiDiGraph) -> WalkNetwork:
    """A :class:`WalkNetwork` as it is; a projected osmnx-style graph converted."""
    if isinstance(network, WalkNetwork):
        return network
    import networkx as nx

    if isinstance(network, nx.Graph):
        return WalkNetwork.from_graph(network)
    raise NetworkError(
        f"the walking network must be a siting WalkNetwork or an osmnx graph, got "
        f"{type(network).__name__}"
    )
