"""The sparse cost matrix equals networkx shortest paths."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from siting import NetworkError
from siting.costs import cost_matrix, walk_arrays


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
