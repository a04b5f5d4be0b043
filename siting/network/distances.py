"""Walking distances from sites to demand: the sparse cost matrix, cut off at the radius.

The walking graph is turned once into compact CSR arrays (both directions, the shortest of
parallel edges; walking ignores one-way rules). One Dijkstra per distinct site node, bounded by
the cutoff, runs in compiled code (:mod:`siting.network._dijkstra`, bucket-queue Dijkstra) on a
thread pool over the cores,
and writes the demand x site matrix directly: nothing of size demand x sites, and nothing of
the graph's size per source, is ever built.

A stored ``0.0`` is a real zero distance (same node, no walk to the street); an absent entry
means "not reachable within the cutoff". Each demand point may have its own radius
(``demand_radius_m``: the 一刻钟 walk for 社区, 1 km for 村), applied in the same pass.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import NetworkError, TooLargeError

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalkArrays:
    """A walking graph as CSR arrays; row/column ``i`` is graph node ``node_ids[i]``."""

    node_ids: NDArray[np.int64]
    adjacency: sparse.csr_matrix  # symmetric, metres
    _order: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # sorted order of the ids, computed once: lookups are then a binary search
        object.__setattr__(self, "_order", np.argsort(self.node_ids, kind="stable"))

    @classmethod
    def from_edges(
        cls, u: ArrayLike, v: ArrayLike, length: ArrayLike, *, node_ids: ArrayLike | None = None
    ) -> WalkArrays:
        """Build from an edge list (positions ``0..n-1``, or ids listed in ``node_ids``).

        Edges are walked both ways; of parallel edges the shortest is kept. Lengths in metres.
        """
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        w = np.asarray(length, dtype=np.float64)
        if not (u.shape == v.shape == w.shape):
            raise NetworkError(
                f"edge arrays differ in length: u {u.shape}, v {v.shape}, length {w.shape}"
            )
        if len(w) and (not np.isfinite(w).all() or (w < 0).any()):
            raise NetworkError("edge lengths must be finite metres >= 0")
        n = (
            int(max(u.max(initial=-1), v.max(initial=-1)) + 1)
            if node_ids is None
            else len(np.asarray(node_ids))
        )
        ids = (
            np.arange(n, dtype=np.int64)
            if node_ids is None
            else np.asarray(node_ids, dtype=np.int64)
        )
        loop = u == v
        u, v, w = u[~loop], v[~loop], w[~loop]
        rows, cols, vals = np.r_[u, v], np.r_[v, u], np.r_[w, w]
        # shortest of parallel edges: sort by (row, col, length) and keep the first of each pair
        order = np.lexsort((vals, cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        adj = sparse.csr_matrix((vals[first], (rows[first], cols[first])), shape=(n, n))
        adj.sort_indices()
        return cls(node_ids=ids, adjacency=adj)

    def index_of(self, nodes: ArrayLike) -> NDArray[np.int64]:
        """Positions of graph node ids in :attr:`node_ids`; unknown ids are an error."""
        nodes = np.asarray(nodes, dtype=np.int64)
        order = self._order
        pos = np.clip(np.searchsorted(self.node_ids, nodes, sorter=order), 0, len(order) - 1)
        idx = order[pos]
        unknown = self.node_ids[idx] != nodes
        if unknown.any():
            raise NetworkError(
                f"{int(unknown.sum())} node id(s) are not in the walking graph: "
                f"{nodes[unknown][:10].tolist()}"
            )
        return idx


Graph: TypeAlias = "nx.MultiDiGraph | WalkArrays | Mapping[str, Any]"
"""What the distance functions accept as a walking graph."""


def walk_arrays(G: nx.MultiDiGraph) -> WalkArrays:
    """Convert an osmnx graph (projected; edge ``length`` in metres) to :class:`WalkArrays`."""
    crs = G.graph.get("crs")
    if crs is not None and _is_geographic(crs):
        raise NetworkError(
            "the walking graph is in lon/lat; project it to metres first "
            "(siting.network.walk_graph_from_osm_file does)"
        )
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    if G.number_of_edges() == 0:
        raise NetworkError("the walking graph has no edges")
    pos = {n: i for i, n in enumerate(node_ids.tolist())}
    u, v, w = zip(*((pos[a], pos[b], d) for a, b, d in G.edges(data="length")), strict=True)
    return WalkArrays.from_edges(u, v, w, node_ids=node_ids)


def _is_geographic(crs: object) -> bool:
    from pyproj import CRS

    return bool(CRS.from_user_input(crs).is_geographic)


def as_walk_arrays(graph: Graph) -> WalkArrays:
    """Accept an osmnx graph, :class:`WalkArrays`, or a mapping with ``u``, ``v``, ``length``.

    A mapping uses node positions ``0..n-1`` (as in a benchmark city's ``.npz``); with ``x``
    present, its length sets the node count so isolated nodes keep their positions.
    """
    if isinstance(graph, WalkArrays):
        return graph
    arrays = getattr(graph, "arrays", None)  # a siting.network.arrays.WalkNetwork
    if isinstance(arrays, WalkArrays):
        return arrays
    if "networkx" in sys.modules:  # a graph exists only once networkx is imported
        import networkx as nx

        if isinstance(graph, nx.Graph):
            return walk_arrays(graph)
    if isinstance(graph, Mapping) and {"u", "v", "length"} <= set(graph):
        n = len(graph["x"]) if "x" in graph else None
        return WalkArrays.from_edges(
            graph["u"], graph["v"], graph["length"], node_ids=None if n is None else np.arange(n)
        )
    raise NetworkError(
        "`graph` must be an osmnx graph, WalkArrays, or a mapping with "
        f"'u', 'v' and 'length' arrays; got {type(graph).__name__}"
    )


@dataclass(frozen=True)
class SearchResult:
    """A sparse matrix of walking metres and what it took to compute it."""

    matrix: sparse.csr_matrix
    relaxations: int
    searches: int
    seconds: float


def _group_by_node(
    nodes: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Distinct nodes, and a CSR (ptr, ids) listing the positions at each distinct node."""
    order = np.argsort(nodes, kind="stable")
    distinct, counts = np.unique(nodes[order], return_counts=True)
    ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    return distinct, ptr, order.astype(np.int64)


_MIN_BUCKET_M = 5.0


def _bucket_width(weights: NDArray[np.float64], cutoff_m: float) -> float:
    """Bucket width for the search: the shortest positive edge, but at least 5 m.

    With the width at most the shortest edge no node is expanded twice; the 5 m floor keeps a
    network with a few very short edges (common in OSM data) from needing thousands of empty
    buckets, at the price of re-expanding the nodes those short edges reach.
    """
    positive = weights[weights > 0]
    width = float(positive.min()) if len(positive) else cutoff_m
    return min(max(width, _MIN_BUCKET_M), cutoff_m)


def _threads(threads: int | None) -> int:
    if threads is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if threads < 1:
        raise ValueError(f"`threads` must be >= 1, got {threads!r}")
    return threads


def search(
    graph: Graph,
    demand_nodes: ArrayLike,
    site_nodes: ArrayLike,
    *,
    cutoff_m: float,
    demand_radius_m: ArrayLike | None = None,
    site_radius_m: ArrayLike | None = None,
    demand_offset_m: ArrayLike | None = None,
    site_offset_m: ArrayLike | None = None,
    threads: int | None = None,
) -> SearchResult:
    """Walking metres from every site to every demand point within reach, as a sparse matrix.

    Parameters
    ----------
    graph
        An osmnx graph in a metric CRS, :class:`WalkArrays`, or a mapping of edge arrays
        (``u``, ``v``, ``length`` in metres; optional ``x``, ``y``).
    demand_nodes, site_nodes
        Graph node ids (positions for edge arrays) where each demand point and site joins.
    cutoff_m
        Largest total distance kept, metres.
    demand_radius_m, site_radius_m
        Optional per-point and per-site limits (metres, <= ``cutoff_m`` in effect): a pair is
        kept when its distance is within both. One pass serves 社区 and 村 radii together.
    demand_offset_m, site_offset_m
        Straight walk from each point or site to its node (snap distance), metres.
    threads
        Worker threads (default: the machine's cores, at most 8).

    Returns
    -------
    SearchResult
        ``matrix`` is ``(len(demand_nodes), len(site_nodes))`` CSR, metres.
    """
    if not (np.isfinite(cutoff_m) and cutoff_m > 0):
        raise ValueError(f"`cutoff_m` must be a finite number > 0, got {cutoff_m!r}")
    arrays = as_walk_arrays(graph)
    d_idx = arrays.index_of(demand_nodes)
    s_idx = arrays.index_of(site_nodes)
    n_d, n_s = len(d_idx), len(s_idx)

    def per(values: ArrayLike | None, n: int, default: float, name: str) -> NDArray[np.float64]:
        out = np.full(n, default) if values is None else np.asarray(values, dtype=np.float64)
        if out.shape != (n,) or np.isnan(out).any() or (out < 0).any():
            raise ValueError(f"`{name}` must hold {n} numbers >= 0")
        return np.ascontiguousarray(out)

    d_lim = np.minimum(per(demand_radius_m, n_d, cutoff_m, "demand_radius_m"), cutoff_m)
    s_lim = np.minimum(per(site_radius_m, n_s, cutoff_m, "site_radius_m"), cutoff_m)
    d_off = per(demand_offset_m, n_d, 0.0, "demand_offset_m")
    s_off = per(site_offset_m, n_s, 0.0, "site_offset_m")

    tgt_nodes, tgt_count_ptr, tgt_order = _group_by_node(d_idx)
    tgt_ptr = np.zeros(len(arrays.node_ids) + 1, dtype=np.int64)
    np.add.at(tgt_ptr, tgt_nodes + 1, np.diff(tgt_count_ptr))
    tgt_ptr = np.cumsum(tgt_ptr)
    src_nodes, col_ptr, col_ids = _group_by_node(s_idx)

    adj = arrays.adjacency
    indptr = adj.indptr.astype(np.int64)
    indices = adj.indices.astype(np.int32)
    weights = np.ascontiguousarray(adj.data, dtype=np.float64)
    tgt_off, tgt_lim = d_off[tgt_order], d_lim[tgt_order]
    delta = _bucket_width(weights, cutoff_m)
    n_workers = _threads(threads)
    n_blocks = min(len(src_nodes), n_workers * 4) or 1
    # contiguous runs of sources (sorted by node position, so usually near each other):
    # consecutive searches then reuse the part of the graph already in cache
    blocks = np.array_split(np.arange(len(src_nodes)), n_blocks)

    def run(block: NDArray[np.int64]) -> tuple[Any, Any, Any, int]:
        sub_ptr = np.r_[0, np.cumsum(col_ptr[block + 1] - col_ptr[block])].astype(np.int64)
        sub_cols = (
            np.concatenate([col_ids[col_ptr[k] : col_ptr[k + 1]] for k in block])
            if len(block)
            else np.empty(0, np.int64)
        )
        from siting.network._dijkstra import (
            search_block,  # numba: imported (and compiled) if needed
        )

        return search_block(
            indptr,
            indices,
            weights,
            len(arrays.node_ids),
            delta,
            src_nodes[block],
            sub_ptr,
            sub_cols,
            s_off[sub_cols],
            s_lim[sub_cols],
            tgt_ptr,
            tgt_order,
            tgt_off,
            tgt_lim,
        )

    if len(src_nodes) * len(arrays.node_ids) + n_s * n_d <= DENSE_MAX_CELLS:
        return _search_dense(arrays, d_idx, s_idx, cutoff_m, d_lim, s_lim, d_off, s_off)
    _check_memory(n_d, n_s, len(src_nodes), col_ptr, run)
    start = time.perf_counter()
    if n_workers == 1 or len(blocks) == 1:
        parts = [run(b) for b in blocks]
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            parts = list(pool.map(run, blocks))
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n_d, n_s))
    matrix.sort_indices()
    seconds = time.perf_counter() - start
    relaxations = int(sum(p[3] for p in parts))
    log.info(
        "walking distances: %d demand points x %d sites (%d searches), %d pairs within "
        "%.0f m, %.2f s on %d thread(s)",
        n_d,
        n_s,
        len(src_nodes),
        matrix.nnz,
        cutoff_m,
        seconds,
        n_workers,
    )
    return SearchResult(matrix, relaxations, len(src_nodes), seconds)


DENSE_MAX_CELLS = 4_000_000
"""Searches whose dense answer (sources x nodes, plus sites x demand points) has at most this
many cells run scipy's compiled Dijkstra (no JIT compilation, about 50 MB at most); larger ones
run the bucket kernel of :mod:`siting.network._dijkstra`, which keeps only what is within reach. The
two give the same metres (a test compares them)."""


def _search_dense(
    arrays: WalkArrays,
    d_idx: NDArray[np.int64],
    s_idx: NDArray[np.int64],
    cutoff_m: float,
    d_lim: NDArray[np.float64],
    s_lim: NDArray[np.float64],
    d_off: NDArray[np.float64],
    s_off: NDArray[np.float64],
) -> SearchResult:
    """:func:`search` for small jobs with ``scipy.sparse.csgraph.dijkstra`` (limit-bounded)."""
    from scipy.sparse.csgraph import dijkstra

    start = time.perf_counter()
    sources, which = np.unique(s_idx, return_inverse=True)
    cells = len(sources) * len(arrays.node_ids) + len(s_idx) * len(d_idx)
    log.info(  # at most DENSE_MAX_CELLS: ~32 MB of float64, plus the comparisons' booleans
        "memory: the dense search needs about %.1f MiB (%d cells)", cells * 9 / 2**20, cells
    )
    reach = float(min(cutoff_m, d_lim.max(initial=0.0)))
    dist = dijkstra(arrays.adjacency, directed=True, indices=sources, limit=reach)  # symmetric
    which = which.ravel()
    walk = dist[which][:, d_idx]  # sites x demand, network metres
    total = s_off[:, None] + walk + d_off[None, :]
    # the kernel's rule exactly, so the two paths agree to the last bit at the radius: a node
    # is reached when its walk is within the search bound of its source (the largest of the
    # source's sites' radius less their own walk to the street), then the pair is kept when
    # its total is within both radii
    reach = np.minimum(s_lim, d_lim.max(initial=0.0)) - s_off
    bound = np.full(len(sources), -np.inf)
    np.maximum.at(bound, which, reach)
    keep = (walk <= bound[which][:, None]) & (total <= s_lim[:, None]) & (total <= d_lim[None, :])
    cols, rows = np.nonzero(keep)
    matrix = sparse.csr_matrix((total[cols, rows], (rows, cols)), shape=(len(d_idx), len(s_idx)))
    matrix.sort_indices()
    seconds = time.perf_counter() - start
    log.info(
        "walking distances: %d demand points x %d sites (%d searches, scipy), %d pairs within "
        "%.0f m, %.2f s",
        len(d_idx),
        len(s_idx),
        len(sources),
        matrix.nnz,
        cutoff_m,
        seconds,
    )
    return SearchResult(matrix, 0, len(sources), seconds)


_BYTES_PER_PAIR = 40  # row, column and metres as found, then the CSR copy: peak per pair
_SAMPLE_SEARCHES = 32


def _check_memory(
    n_demand: int,
    n_sites: int,
    n_sources: int,
    col_ptr: NDArray[np.int64],
    run: Callable[[NDArray[np.int64]], tuple[Any, Any, Any, int]],
) -> None:
    """Estimate the matrix's memory before building it; stop when it cannot fit.

    The dense bound (every pair) settles small runs at once; otherwise a sample of searches,
    spread over the sources, gives pairs per site, scaled to all sites. Logged either way.
    """
    dense = n_demand * n_sites * _BYTES_PER_PAIR
    if dense <= 256 * 2**20 or n_sources <= _SAMPLE_SEARCHES:
        log.info("memory: the cost matrix needs at most %.0f MiB (every pair)", dense / 2**20)
        return
    sample = np.unique(np.linspace(0, n_sources - 1, _SAMPLE_SEARCHES).astype(np.int64))
    pairs = len(run(sample)[0])
    columns = int((col_ptr[sample + 1] - col_ptr[sample]).sum())
    estimate = pairs / max(columns, 1) * n_sites * _BYTES_PER_PAIR
    free = _available_memory()
    log.info(
        "memory: the cost matrix needs about %.0f MiB (%d pairs in %d sampled searches; %s)",
        estimate / 2**20,
        pairs,
        len(sample),
        f"{free / 2**20:,.0f} MiB available" if free else "available memory unknown",
    )
    if free and estimate > 0.8 * free:
        raise TooLargeError(
            f"the demand x site matrix would need about {estimate / 2**30:.1f} GiB "
            f"({n_demand:,} demand points x {n_sites:,} sites within the cutoff), more than the "
            f"{free / 2**30:.1f} GiB available: run the district in parts (one 街道/乡镇 set "
            "per scenario), thin the candidates, or use a machine with more memory"
        )


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cost_matrix(
    graph: Graph,
    demand_nodes: ArrayLike,
    site_nodes: ArrayLike,
    *,
    cutoff_m: float,
    demand_radius_m: ArrayLike | None = None,
    demand_offset_m: ArrayLike | None = None,
    site_offset_m: ArrayLike | None = None,
    threads: int | None = None,
) -> sparse.csr_matrix:
    """The demand x site matrix of walking metres within reach (see :func:`search`).

    Examples
    --------
    A path 0 -100 m- 1 -100 m- 2, demand at nodes 0 and 2, a site at node 1:

    >>> m = cost_matrix({"u": [0, 1], "v": [1, 2], "length": [100.0, 100.0]}, [0, 2], [1],
    ...                 cutoff_m=150.0)
    >>> m.toarray().ravel().tolist()
    [100.0, 100.0]
    """
    return search(
        graph,
        demand_nodes,
        site_nodes,
        cutoff_m=cutoff_m,
        demand_radius_m=demand_radius_m,
        demand_offset_m=demand_offset_m,
        site_offset_m=site_offset_m,
        threads=threads,
    ).matrix


def reachable_nodes(
    graph: Graph,
    site_nodes: ArrayLike,
    *,
    radius_m: ArrayLike,
    site_offset_m: ArrayLike | None = None,
    threads: int | None = None,
) -> tuple[WalkArrays, sparse.csr_matrix]:
    """Every graph node within each site's radius: a node x site matrix of metres.

    Used for service-area polygons; rows are positions in the returned arrays' ``node_ids``.
    """
    arrays = as_walk_arrays(graph)
    radius = np.asarray(radius_m, dtype=np.float64)
    result = search(
        arrays,
        arrays.node_ids,
        site_nodes,
        cutoff_m=float(radius.max()),
        site_radius_m=np.broadcast_to(radius, (len(np.asarray(site_nodes)),)),
        site_offset_m=site_offset_m,
        threads=threads,
    )
    return arrays, result.matrix
