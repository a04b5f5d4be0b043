"""The compiled kernel: cutoff-bounded Dijkstra from many sources over CSR arrays.

Written here because no library does this exact job well: scipy's ``csgraph.dijkstra(limit=)``
returns a dense sources x nodes array (memory and time grow with the whole graph per source),
and networkx walks Python dicts. This kernel keeps one distance array per block of sources,
resets only the nodes a search touched, and writes (target, source, metres) triples directly.
Instead of a binary heap it uses buckets of width ``delta`` (sequential delta-stepping), which
on street networks, whose edges are rarely shorter than a few metres, makes every queue
operation O(1).

Compiled with numba, ``nogil=True`` so :mod:`siting.network.distances` runs blocks on a thread
pool, and ``cache=True`` so a second process loads the machine code instead of compiling again.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _one_search(
    indptr,
    indices,
    weights,
    s,
    bound,
    inv_delta,
    dist,
    expanded,
    touched,
    head,
    ent_node,
    ent_next,
):
    """Bucket-queue search from node ``s`` up to ``bound`` metres.

    Fills ``dist`` and lists the reached nodes in ``touched``; returns ``(n_touched,
    relaxations)``, or ``(-1, 0)`` with every array reset if the entry pool ran out (the caller
    grows it and runs the search again). No array is reassigned in here: that keeps the hot
    loop's array loads out of the loop in the compiled code (3x faster, measured).
    """
    cap = ent_node.shape[0]
    dist[s] = 0.0
    touched[0] = s
    n_touched = 1
    ent_node[0] = s
    ent_next[0] = -1
    head[0] = 0
    n_ent = 1
    relaxations = 0
    overflow = False
    last = int(bound * inv_delta)
    for b in range(last + 1):
        while head[b] != -1:
            e = head[b]
            head[b] = ent_next[e]
            if overflow:
                continue  # drain the buckets so they are empty for the next search
            u = ent_node[e]
            d = dist[u]
            if expanded[u] == d:
                continue  # stale entry: u was already expanded at this distance
            expanded[u] = d
            relaxations += indptr[u + 1] - indptr[u]
            for x in range(indptr[u], indptr[u + 1]):
                v = indices[x]
                nd = d + weights[x]
                if nd <= bound and nd < dist[v]:
                    if n_ent == cap:
                        overflow = True
                        break
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    nb = int(nd * inv_delta)
                    ent_node[n_ent] = v
                    ent_next[n_ent] = head[nb]
                    head[nb] = n_ent
                    n_ent += 1
    if overflow:
        _reset(dist, expanded, touched, n_touched)
        return -1, 0
    return n_touched, relaxations


@njit(cache=True, nogil=True)
def _reset(dist, expanded, touched, n_touched):
    for i in range(n_touched):
        dist[touched[i]] = np.inf
        expanded[touched[i]] = -1.0


@njit(cache=True, nogil=True)
def _emit(
    dist,
    touched,
    n_touched,
    lo,
    hi,
    col_ids,
    col_offset,
    col_limit,
    tgt_ptr,
    tgt_ids,
    tgt_offset,
    tgt_limit,
    rows,
    cols,
    vals,
    n_out,
):
    """Append the (target, column, metres) triples of one finished search; -1 when full."""
    cap = rows.shape[0]
    for i in range(n_touched):
        u = touched[i]
        d = dist[u]
        for j in range(tgt_ptr[u], tgt_ptr[u + 1]):
            for c in range(lo, hi):
                total = col_offset[c] + d + tgt_offset[j]
                if total <= col_limit[c] and total <= tgt_limit[j]:
                    if n_out == cap:
                        return -1
                    rows[n_out] = tgt_ids[j]
                    cols[n_out] = col_ids[c]
                    vals[n_out] = total
                    n_out += 1
    return n_out


@njit(cache=True, nogil=True)
def search_block(
    indptr,
    indices,
    weights,
    n_nodes,
    delta,
    src_node,
    col_ptr,
    col_ids,
    col_offset,
    col_limit,
    tgt_ptr,
    tgt_ids,
    tgt_offset,
    tgt_limit,
):
    """Run one bounded search per source node and emit (target, column, metres) triples.

    Each search is sequential delta-stepping: tentative distances sit in buckets of width
    ``delta`` metres, buckets are emptied in order, and a node improved inside the bucket being
    emptied is expanded again (label-correcting), so distances are exact for any non-negative
    lengths. With ``delta`` no larger than the shortest edge no node is expanded twice, and
    each push and pop is O(1), with no heap.

    Parameters (all numpy arrays unless noted)
    ----------
    indptr, indices, weights
        CSR adjacency of the walking graph, metres.
    n_nodes, delta
        Number of graph nodes (int); bucket width in metres (float > 0).
    src_node
        Graph node of each search.
    col_ptr, col_ids, col_offset, col_limit
        For search k, the output columns ``col_ids[col_ptr[k]:col_ptr[k+1]]`` (sites at that
        node), each with its own walk to the node (``col_offset``) and largest total distance
        (``col_limit``).
    tgt_ptr, tgt_ids, tgt_offset, tgt_limit
        For graph node u, the output rows ``tgt_ids[tgt_ptr[u]:tgt_ptr[u+1]]`` (demand points at
        that node), each with its own walk to the node and largest total distance (its radius).

    Returns
    -------
    rows, cols, vals, relaxations
        Triples with ``col_offset + network + tgt_offset <= min(col_limit, tgt_limit)``, and the
        number of edge relaxations performed (for benchmarks).
    """
    dist = np.full(n_nodes, np.inf)
    expanded = np.full(n_nodes, -1.0)  # the distance at which a node was last expanded
    touched = np.empty(n_nodes, dtype=np.int32)
    max_tgt = 0.0
    for t in range(tgt_limit.shape[0]):
        max_tgt = max(max_tgt, tgt_limit[t])
    n_buckets = 1
    for k in range(src_node.shape[0]):
        for c in range(col_ptr[k], col_ptr[k + 1]):
            reach = min(col_limit[c], max_tgt) - col_offset[c]
            n_buckets = max(n_buckets, int(reach / delta) + 2)
    head = np.full(n_buckets, -1, dtype=np.int32)
    # without re-expansion a search pushes at most once per directed edge
    ent_node = np.empty(indices.shape[0] + 1, dtype=np.int32)
    ent_next = np.empty(indices.shape[0] + 1, dtype=np.int32)
    rows = np.empty(1 << 16, dtype=np.int64)
    cols = np.empty(1 << 16, dtype=np.int64)
    vals = np.empty(1 << 16, dtype=np.float64)
    n_out = 0
    relaxations = 0
    inv_delta = 1.0 / delta
    for k in range(src_node.shape[0]):
        lo, hi = col_ptr[k], col_ptr[k + 1]
        bound = -1.0
        for c in range(lo, hi):
            bound = max(bound, min(col_limit[c], max_tgt) - col_offset[c])
        if bound < 0.0:
            continue
        while True:
            n_touched, relax = _one_search(
                indptr,
                indices,
                weights,
                src_node[k],
                bound,
                inv_delta,
                dist,
                expanded,
                touched,
                head,
                ent_node,
                ent_next,
            )
            if n_touched >= 0:
                break
            ent_node = _grow(ent_node, 2 * ent_node.shape[0])
            ent_next = _grow(ent_next, 2 * ent_next.shape[0])
        relaxations += relax
        while True:
            done = _emit(
                dist,
                touched,
                n_touched,
                lo,
                hi,
                col_ids,
                col_offset,
                col_limit,
                tgt_ptr,
                tgt_ids,
                tgt_offset,
                tgt_limit,
                rows,
                cols,
                vals,
                n_out,
            )
            if done >= 0:
                n_out = done
                break
            rows = _grow(rows, 2 * rows.shape[0])
            cols = _grow(cols, 2 * cols.shape[0])
            vals = _grow(vals, 2 * vals.shape[0])
        _reset(dist, expanded, touched, n_touched)
    return rows[:n_out].copy(), cols[:n_out].copy(), vals[:n_out].copy(), relaxations


@njit(cache=True, nogil=True)
def _grow(a, cap):
    out = np.empty(cap, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
