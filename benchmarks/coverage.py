"""Coverage benchmark: the same demand x site distance job three ways, checked equal.

* engine   -- :func:`siting.network.distances.search` (compiled bucket-queue Dijkstra, all
              cores), timed in a process of its own after one warm-up call, so its peak memory
              is its own;
* scipy    -- ``scipy.sparse.csgraph.dijkstra(limit=)`` on the same CSR, in chunks of sources;
* networkx -- the baseline: ``single_source_dijkstra_path_length(cutoff=)`` per site on an
              osmnx-style MultiDiGraph (both directions, ``length`` attribute).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import time
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from benchmarks._data import Workload, city, jinan


def _engine_child(load: tuple[str, str | None], repeats: int, queue: Any) -> None:
    from siting.network.distances import as_walk_arrays, search

    wl = _load(*load)
    arrays = as_walk_arrays(wl.edges)
    search(arrays, wl.demand_node, wl.site_node, cutoff_m=wl.radius_m)  # warm-up: JIT cache
    times, result = [], None
    for _ in range(repeats):
        result = search(arrays, wl.demand_node, wl.site_node, cutoff_m=wl.radius_m)
        times.append(result.seconds)
    assert result is not None
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    queue.put(
        {
            "times": times,
            "relaxations": result.relaxations,
            "peak_mib": peak_mib,
            "matrix": result.matrix,
        }
    )


def _load(kind: str, size: str | None) -> Workload:
    return jinan() if kind == "jinan" else city(str(size))


def run_engine(load: tuple[str, str | None], repeats: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_engine_child, args=(load, repeats, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def run_scipy(wl: Workload, chunk: int = 128) -> tuple[float, sparse.csr_matrix]:
    from siting.network.distances import as_walk_arrays

    adj = as_walk_arrays(wl.edges).adjacency
    sources, site_of = np.unique(wl.site_node, return_inverse=True)
    start = time.perf_counter()
    rows, cols, vals = [], [], []
    for lo in range(0, len(sources), chunk):
        dist = dijkstra(adj, directed=True, indices=sources[lo : lo + chunk], limit=wl.radius_m)
        sub = dist[:, wl.demand_node]  # chunk x demand
        for k in range(sub.shape[0]):
            hit = np.flatnonzero(np.isfinite(sub[k]))
            for s in np.flatnonzero(site_of == lo + k):
                rows.append(hit)
                cols.append(np.full(len(hit), s))
                vals.append(sub[k, hit])
    m = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(wl.demand_node), len(wl.site_node)),
    )
    return time.perf_counter() - start, m


def run_networkx(wl: Workload) -> tuple[float, sparse.csr_matrix]:
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(len(wl.edges["x"])))
    for a, b, w in zip(
        wl.edges["u"].tolist(), wl.edges["v"].tolist(), wl.edges["length"].tolist(), strict=True
    ):
        G.add_edge(a, b, length=w)
        G.add_edge(b, a, length=w)
    rows_of: dict[int, list[int]] = {}
    for i, n in enumerate(wl.demand_node.tolist()):
        rows_of.setdefault(n, []).append(i)
    start = time.perf_counter()
    rows, cols, vals = [], [], []
    for j, s in enumerate(wl.site_node.tolist()):
        reach = nx.single_source_dijkstra_path_length(G, s, cutoff=wl.radius_m, weight="length")
        for n, d in reach.items():
            for i in rows_of.get(n, ()):
                rows.append(i)
                cols.append(j)
                vals.append(d)
    m = sparse.csr_matrix((vals, (rows, cols)), shape=(len(wl.demand_node), len(wl.site_node)))
    return time.perf_counter() - start, m


def same(a: sparse.csr_matrix, b: sparse.csr_matrix) -> bool:
    """Same stored pairs (zeros included) and the same metres to 1e-6."""
    a, b = a.tocoo(), b.tocoo()
    ka = np.lexsort((a.col, a.row))
    kb = np.lexsort((b.col, b.row))
    return bool(
        a.nnz == b.nnz
        and np.array_equal(a.row[ka], b.row[kb])
        and np.array_equal(a.col[ka], b.col[kb])
        and np.allclose(a.data[ka], b.data[kb], rtol=0, atol=1e-6)
    )


def main(kind: str, size: str | None, repeats: int, skip_networkx: bool) -> int:
    load = (kind, size)
    wl = _load(*load)
    label = "jinan" if kind == "jinan" else str(size)
    print(
        f"workload {label}: {len(wl.edges['x']):,} nodes, {len(wl.edges['u']):,} edges, "
        f"{len(wl.demand_node):,} demand points, {len(wl.site_node):,} sites, "
        f"radius {wl.radius_m:.0f} m"
    )
    eng = run_engine(load, repeats)
    t_engine = statistics.median(eng["times"])
    t_scipy, m_scipy = run_scipy(wl)
    rows = [
        (
            "engine (siting.network.distances)",
            t_engine,
            eng["peak_mib"],
            eng["relaxations"],
            same(eng["matrix"], m_scipy),
        )
    ]
    rows.append(("scipy csgraph.dijkstra(limit=)", t_scipy, None, None, True))
    t_nx = None
    if not skip_networkx:
        t_nx, m_nx = run_networkx(wl)
        rows.append(("networkx per site (baseline)", t_nx, None, None, same(m_nx, m_scipy)))
    base = t_nx if t_nx is not None else t_scipy
    print(
        f"\n{'method':34s} {'seconds':>9s} {'x faster':>9s} {'peak MiB':>9s} "
        f"{'relaxations':>12s} {'pairs':>10s} {'same matrix':>11s}"
    )
    for name, t, peak, relax, ok in rows:
        print(
            f"{name:34s} {t:9.3f} {base / t:9.1f} {'' if peak is None else f'{peak:9.0f}':>9s} "
            f"{'' if relax is None else f'{relax:,}':>12s} {eng['matrix'].nnz:>10,} "
            f"{'yes' if ok else 'NO':>11s}"
        )
    print(
        f"\nengine runs (s): {', '.join(f'{t:.3f}' for t in eng['times'])} "
        f"(median of {repeats} after one warm-up)"
    )
    if not all(r[4] for r in rows):
        print("ERROR: the methods returned different matrices")
        return 1
    if t_nx is None:
        print("no RESULT line: the networkx baseline was skipped (ratios above are vs scipy)")
        return 0
    print(
        f"RESULT coverage {label} seconds={t_engine:.3f} baseline_seconds={t_nx:.3f} "
        f"ratio={t_nx / t_engine:.1f} peak_mib={eng['peak_mib']:.0f}"
    )
    return 0
