"""The sparse cost matrix equals networkx shortest paths, on both paths of
:func:`siting.network.distances.search`: the bucket kernel (large jobs) and scipy's Dijkstra (small
ones)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from siting import NetworkError
from siting.network import distances as costs
from siting.network.distances import WalkArrays, cost_matrix, search, walk_arrays


@pytest.fixture(autouse=True, params=["kernel", "scipy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on the compiled kernel and on scipy's Dijkstra."""
    monkeypatch.setattr(costs, "DENSE_MAX_CELLS", 0 if request.param == "kernel" else 10**9)
    return str(request.param)


def _random_graph(seed: int) -> nx.MultiDiGraph:
    rng = np.random.default_rng(seed)
    base = nx.connected_watts_strogatz_graph(80, 4, 0.2, seed=seed)
    G = nx.MultiDiGraph(crs="EPSG:4547")
    for n in base.nodes:
        G.add_node(n + 1000, x=float(n), y=0.0)
    for u, v in base.edges:
        length = float(rng.uniform(20, 300))
        G.add_edge(u + 1000, v + 1000, length=length)
        G.add_edge(v + 1000, u + 1000, length=length)
        if rng.random() < 0.2:  # a longer parallel edge that must not win
            G.add_edge(u + 1000, v + 1000, length=length + 50)
    return G


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distances_equal_networkx(seed: int) -> None:
    G = _random_graph(seed)
    rng = np.random.default_rng(seed)
    nodes = np.array(list(G.nodes))
    demand = rng.choice(nodes, 40, replace=False)
    sites = rng.choice(nodes, 12, replace=False)
    cutoff = 600.0
    C = cost_matrix(walk_arrays(G), demand, sites, cutoff_m=cutoff).toarray()
    simple = nx.Graph()
    for u, v, d in G.edges(data="length"):
        if not simple.has_edge(u, v) or simple[u][v]["length"] > d:
            simple.add_edge(u, v, length=d)
    checked = 0
    for j, s in enumerate(sites):
        truth = nx.single_source_dijkstra_path_length(simple, s, cutoff=cutoff, weight="length")
        for i, d in enumerate(demand):
            if d in truth:
                assert C[i, j] == pytest.approx(truth[d], abs=1e-9)
                checked += 1
            else:
                assert C[i, j] == 0.0
    assert checked > 40


def test_offsets_are_added_and_zero_distance_is_kept() -> None:
    G = nx.MultiDiGraph(crs="EPSG:4547")
    G.add_edge(1, 2, length=100.0)
    G.add_edge(2, 3, length=100.0)
    C = cost_matrix(walk_arrays(G), [1, 3, 2], [2, 1], cutoff_m=150.0, site_offset_m=[0.0, 30.0])
    assert C.shape == (3, 2)
    coo = C.tocoo()
    stored = {
        (int(i), int(j)): float(v) for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)
    }
    assert stored == {(0, 0): 100.0, (1, 0): 100.0, (2, 0): 0.0, (0, 1): 30.0, (2, 1): 130.0}
    assert C.nnz == 5  # the zero at (2, 0) is a stored entry: "same node", not "unreachable"
    assert (1, 1) not in stored  # 200 m + 30 m is beyond the 150 m cutoff


def test_unknown_node_and_lonlat_graph_are_refused() -> None:
    G = nx.MultiDiGraph(crs="EPSG:4547")
    G.add_edge(1, 2, length=10.0)
    with pytest.raises(NetworkError, match="99"):
        cost_matrix(walk_arrays(G), [99], [1], cutoff_m=100.0)
    G.graph["crs"] = "EPSG:4326"
    with pytest.raises(NetworkError, match="lon/lat"):
        walk_arrays(G)


def _networkx_matrix(
    edges: list[tuple[int, int, float]], demand: np.ndarray, sites: np.ndarray, cutoff: float
) -> np.ndarray:
    simple = nx.Graph()
    for u, v, w in edges:
        if u != v and (not simple.has_edge(u, v) or simple[u][v]["length"] > w):
            simple.add_edge(u, v, length=w)
    out = np.full((len(demand), len(sites)), np.nan)
    for j, s in enumerate(sites):
        truth = nx.single_source_dijkstra_path_length(
            simple, int(s), cutoff=cutoff, weight="length"
        )
        for i, d in enumerate(demand):
            if int(d) in truth:
                out[i, j] = truth[int(d)]
    return out


def _as_dense(matrix) -> np.ndarray:
    coo = matrix.tocoo()
    out = np.full(matrix.shape, np.nan)
    out[coo.row, coo.col] = coo.data
    return out


def test_zero_and_very_short_edges_are_exact() -> None:
    """Edges shorter than the 5 m bucket (and zero-length ones) force re-expansion."""
    rng = np.random.default_rng(5)
    n = 300
    edges = [(i, i + 1, float(rng.choice([0.0, 0.5, 2.0, 7.0, 30.0]))) for i in range(n - 1)]
    edges += [(int(a), int(b), float(rng.uniform(0, 40))) for a, b in rng.integers(0, n, (600, 2))]
    u, v, w = (np.array(c) for c in zip(*edges, strict=True))
    demand, sites = np.arange(n), rng.choice(n, 25, replace=False)
    got = _as_dense(cost_matrix({"u": u, "v": v, "length": w}, demand, sites, cutoff_m=60.0))
    want = _networkx_matrix(edges, demand, sites, 60.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_entry_pool_overflow_is_retried_and_leaves_nothing_behind() -> None:
    from siting.network._dijkstra import _one_search

    arrays = WalkArrays.from_edges(np.arange(9), np.arange(1, 10), np.full(9, 10.0))
    adj = arrays.adjacency
    dist = np.full(10, np.inf)
    expanded = np.full(10, -1.0)
    touched = np.empty(10, dtype=np.int32)
    head = np.full(30, -1, dtype=np.int32)
    tiny = np.empty(3, dtype=np.int32)
    args = (
        adj.indptr.astype(np.int64),
        adj.indices.astype(np.int32),
        adj.data,
        0,
        100.0,
        1 / 5.0,
        dist,
        expanded,
        touched,
        head,
    )
    assert _one_search(*args, tiny, tiny.copy()) == (-1, 0)
    assert np.isinf(dist).all()
    assert (expanded == -1).all()
    assert (head == -1).all()
    n_touched, _ = _one_search(*args, np.empty(30, np.int32), np.empty(30, np.int32))
    assert n_touched == 10
    assert dist[9] == 90.0


def test_many_pairs_grow_the_output_and_match_scipy() -> None:
    from scipy.sparse.csgraph import dijkstra

    side = 20  # a 20 x 20 grid: 400 demand points x 250 sites, all within reach
    idx = np.arange(side * side).reshape(side, side)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    w = np.random.default_rng(1).uniform(10, 20, len(u))
    sites = np.arange(0, 400, 400 // 250)[:250]
    result = search({"u": u, "v": v, "length": w}, np.arange(400), sites, cutoff_m=1e6, threads=2)
    assert result.matrix.nnz == 400 * 250  # more than the kernel's first output buffer
    full = dijkstra(WalkArrays.from_edges(u, v, w).adjacency, indices=sites)
    np.testing.assert_allclose(result.matrix.toarray(), full.T, rtol=0, atol=1e-9)


def test_per_demand_radius_in_one_pass() -> None:
    """Two points at the same node, 800 m away: kept for the 900 m radius, not the 675 m one."""
    G = {"u": [0, 1, 2], "v": [1, 2, 3], "length": [400.0, 400.0, 400.0]}
    m = cost_matrix(
        G, [1, 2, 2, 3], [0], cutoff_m=1000.0, demand_radius_m=[900.0, 675.0, 900.0, 1000.0]
    )
    got = _as_dense(m)[:, 0]
    assert got[0] == 400.0
    assert np.isnan(got[1])  # 800 m > 675 m (15 min at 0.75 m/s)
    assert got[2] == 800.0
    assert np.isnan(got[3])  # 1,200 m: beyond the cutoff


def test_memory_is_estimated_and_a_matrix_too_large_is_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    import logging

    if path == "scipy":  # jobs beyond DENSE_MAX_CELLS always run on the kernel
        pytest.skip("the estimate guards the kernel's sparse output; small jobs need none")

    from siting import TooLargeError
    from siting.network import distances as costs

    # a 120 x 120 grid, 100 m blocks: 14,400 nodes, every node a demand point and a site
    n = 120
    ids = np.arange(n * n).reshape(n, n)
    u = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    v = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    graph = {"u": u, "v": v, "length": np.full(len(u), 100.0)}
    nodes = ids.ravel()
    caplog.set_level(logging.INFO, logger="siting")
    m = costs.cost_matrix(graph, nodes, nodes, cutoff_m=300.0)
    note = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("memory"))
    estimated_mib = float(note.split("about ")[1].split(" MiB")[0])
    actual_mib = m.nnz * costs._BYTES_PER_PAIR / 2**20
    assert 0.8 * actual_mib <= estimated_mib <= 1.25 * actual_mib  # from 32 sampled searches
    monkeypatch.setattr(costs, "_available_memory", lambda: 2**20)  # 1 MiB left
    with pytest.raises(TooLargeError, match="run the district in parts"):
        costs.cost_matrix(graph, nodes, nodes, cutoff_m=300.0)


@pytest.mark.parametrize("seed", range(5))
def test_kernel_and_scipy_agree_to_the_bit_at_the_radius(
    seed: int, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Lengths in tenths, radii and offsets on the same grid: sums that land exactly on the
    radius in decimal (0.1 + 0.2 vs 0.3) are kept or dropped alike by both paths."""
    if path == "kernel":
        pytest.skip("the comparison runs once, both paths inside")
    rng = np.random.default_rng(seed)
    n = 40
    u = rng.integers(0, n, 120)
    v = rng.integers(0, n, 120)
    length = rng.integers(1, 6, 120) / 10
    demand = rng.integers(0, n, 60)
    sites = rng.integers(0, n, 15)
    kwargs = {
        "cutoff_m": 0.6,
        "demand_radius_m": rng.integers(2, 7, 60) / 10,
        "site_offset_m": rng.integers(0, 3, 15) / 10,
        "demand_offset_m": rng.integers(0, 2, 60) / 10,
    }
    graph = {"u": u, "v": v, "length": length, "x": np.zeros(n)}
    out = {}
    for name, cells in (("kernel", 0), ("scipy", 10**9)):
        monkeypatch.setattr(costs, "DENSE_MAX_CELLS", cells)
        out[name] = cost_matrix(graph, demand, sites, **kwargs)
    assert (out["kernel"] != out["scipy"]).nnz == 0
    assert out["kernel"].nnz == out["scipy"].nnz > 0
