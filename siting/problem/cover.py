"""Which demand points a set of open sites covers, and how far each is from the nearest: the two
questions every model, every summary and every map asks of a problem's cost matrix. Kept here,
below the models and the analysis, so both ask them the same way."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError


def coverage_sets(cost: sparse.spmatrix, radius_m: ArrayLike) -> sparse.csr_matrix:
    """Boolean demand x site matrix: True where the site is within the point's radius
    (``radius_m``: one number, or one per demand row; > 0)."""
    cost = sparse.csr_matrix(cost)
    radius = np.broadcast_to(np.asarray(radius_m, float), (cost.shape[0],))
    if (radius <= 0).any() or not np.isfinite(radius).all():
        raise ModelError("`radius_m` must be > 0 and finite")
    row_of = np.repeat(np.arange(cost.shape[0]), np.diff(cost.indptr))
    keep = cost.data <= radius[row_of]
    out = sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=bool), (row_of[keep], cost.indices[keep])), shape=cost.shape
    )
    out.sort_indices()  # row sets compare by their index bytes when models merge rows
    return out


def nearest_open(cost: sparse.csr_matrix, open_: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Per demand row, metres to the nearest open column of ``cost`` (inf where none)."""
    sub = sparse.csr_matrix(cost)[:, np.flatnonzero(open_)].tocsr()
    out = np.full(sub.shape[0], np.inf)
    has = np.diff(sub.indptr) > 0
    if has.any():
        out[has] = np.minimum.reduceat(sub.data, sub.indptr[:-1][has])
    return out


def covered_by(cover: sparse.csr_matrix, open_sites: ArrayLike) -> NDArray[np.bool_]:
    """Demand points covered by at least one of the open site columns."""
    mask = np.zeros(cover.shape[1], dtype=bool)
    mask[np.asarray(open_sites, dtype=np.int64)] = True
    return np.diff(sparse.csr_matrix(cover[:, mask]).indptr) > 0


def nearest_m(cost: sparse.csr_matrix, open_sites: ArrayLike) -> NDArray[np.float64]:
    """Walking metres to the nearest of the open site columns ``open_sites``, NaN where none is
    within the cutoff (the tables' empty cell; :func:`nearest_open` gives inf for the models)."""
    mask = np.zeros(cost.shape[1], dtype=bool)
    mask[np.asarray(open_sites, dtype=np.int64)] = True
    out = nearest_open(cost, mask)
    out[np.isinf(out)] = np.nan
    return out
