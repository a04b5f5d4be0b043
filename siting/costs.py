"""The sparse cost matrix: network walking metres from demand points to sites, cut off.

The graph is turned once into a symmetric CSR adjacency (shortest of parallel edges, both
directions, since walking ignores one-way rules) and a bounded Dijkstra runs from every distinct
site node. Only pairs within the cutoff are stored; a stored ``0.0`` is a real zero distance
(same node), an absent entry means "not reachable within the cutoff".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from siting._errors import NetworkError

log = logging.getLogger(__name__)

_CHUNK = 64  # sources per Dijkstra call: bounds the dense chunk x nodes scratch array


@dataclass(frozen=True)
class WalkArrays:
    """A walking graph as arrays: ``node_ids[i]`` is the graph node of row/column ``i``."""

    node_ids: NDArray[np.int64]
    adjacency: sparse.csr_matrix  # symmetric, metres

    def index_of(self, nodes: ArrayLike) -> NDArray[np.int64]:
        """Positions of graph node ids in :attr:`node_ids`."""
        nodes = np.asarray(nodes, dtype=np.int64)
        order = np.argsort(self.node_ids)
        pos = np.searchsorted(self.node_ids, nodes, sorter=order)
        pos = np.clip(pos, 0, len(order) - 1)
        idx = order[pos]
        if not np.array_equal(self.node_ids[idx], nodes):
            missing = nodes[self.node_ids[idx] != nodes]
            raise NetworkError(f"nodes not in the walking graph: {missing[:10].tolist()}")
        return idx


def walk_arrays(G: nx.MultiDiGraph) -> WalkArrays:
    """Convert an osmnx graph (projected, edge ``length`` in metres) to :class:`WalkArrays`."""
    if G.graph.get("crs") is not None and "4326" in str(G.graph["crs"]):
        raise NetworkError(
            "the walking graph is in lon/lat; project it to metres first "
            "(siting.network.walk_graph_from_osm_file does)"
        )
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    pos = {n: i for i, n in enumerate(node_ids.tolist())}
    edges = [(pos[u], pos[v], float(d)) for u, v, d in G.edges(data="length") if u != v]
    if not edges:
        raise NetworkError("the walking graph has no edges")
    u, v, w = (np.array(col) for col in zip(*edges, strict=True))
    n = len(node_ids)
    # keep the shortest of parallel edges in either direction: sort longest first, so the
    # shortest is written last and wins when the COO entries are assigned in order
    order = np.argsort(-w, kind="stable")
    rows = np.r_[u[order], v[order]]
    cols = np.r_[v[order], u[order]]
    vals = np.r_[w[order], w[order]]
    dense_key = rows * n + cols
    _, last = np.unique(dense_key[::-1], return_index=True)
    keep = len(dense_key) - 1 - last
    adj = sparse.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n))
    return WalkArrays(node_ids=node_ids, adjacency=adj)


def cost_matrix(
    arrays: WalkArrays,
    demand_nodes: ArrayLike,
    site_nodes: ArrayLike,
    *,
    cutoff_m: float,
    demand_offset_m: ArrayLike | None = None,
    site_offset_m: ArrayLike | None = None,
) -> sparse.csr_matrix:
    """Walking metres from each demand point to each site, kept where ``<= cutoff_m``.

    Parameters
    ----------
    arrays
        The walking graph as arrays (:func:`walk_arrays`).
    demand_nodes, site_nodes
        Graph node ids where each demand point and each site joins the network.
    cutoff_m
        Largest distance kept, metres (the largest service radius needed).
    demand_offset_m, site_offset_m
        Off-network walk from each point to its node (snap distance), added to the total.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(len(demand_nodes), len(site_nodes))``, metres; absent = beyond the cutoff.
    """
    if not cutoff_m > 0:
        raise ValueError(f"`cutoff_m` must be > 0, got {cutoff_m!r}")
    d_idx = arrays.index_of(demand_nodes)
    s_idx = arrays.index_of(site_nodes)
    d_off = np.zeros(len(d_idx)) if demand_offset_m is None else np.asarray(demand_offset_m, float)
    s_off = np.zeros(len(s_idx)) if site_offset_m is None else np.asarray(site_offset_m, float)
    sources, site_source = np.unique(s_idx, return_inverse=True)
    rows, cols, vals = [], [], []
    for start in range(0, len(sources), _CHUNK):
        chunk = sources[start : start + _CHUNK]
        dist = dijkstra(arrays.adjacency, directed=True, indices=chunk, limit=cutoff_m)
        for k in range(len(chunk)):
            src = start + k
            sites = np.flatnonzero(site_source == src)
            reach = dist[k, d_idx]
            for s in sites:
                total = reach + d_off + s_off[s]
                hit = np.flatnonzero(total <= cutoff_m)
                rows.append(hit)
                cols.append(np.full(len(hit), s))
                vals.append(total[hit])
    r = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
    c = np.concatenate(cols) if cols else np.array([], dtype=np.int64)
    v = np.concatenate(vals) if vals else np.array([], dtype=float)
    matrix = sparse.csr_matrix((v, (r, c)), shape=(len(d_idx), len(s_idx)))
    log.info(
        "cost matrix: %d demand points x %d sites, %d pairs within %.0f m",
        len(d_idx),
        len(s_idx),
        matrix.nnz,
        cutoff_m,
    )
    return matrix
