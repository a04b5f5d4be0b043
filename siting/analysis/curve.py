"""Coverage against walking time: the share of elderly within t minutes' walk of an open circle
facility, before and after the plan, from one bounded search at the longest cutoff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting.network import distances as costs

if TYPE_CHECKING:
    from siting.problem.build import Problem


CURVE_MINUTES: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)


def coverage_curve(
    problem: Problem,
    before: ArrayLike,
    after: ArrayLike,
    *,
    walk_speed_mps: float,
    minutes: Sequence[float] = CURVE_MINUTES,
) -> pd.DataFrame:
    """Share of elderly within ``t`` minutes' walk of an open site, before (``before``: site
    columns open now) and after (``after``: with the plan), for each ``t`` in ``minutes``.

    One search of the walking network from the open sites, cut off at the largest ``t``; walks
    include the snaps to the street, as the circles do. Minutes for every demand point (a 村's
    1,000 m circle is a distance and is not applied here).
    """
    if problem.network is None:
        raise ModelError("the coverage curve needs the problem's walking network")
    if walk_speed_mps <= 0 or not minutes or min(minutes) <= 0:
        raise ModelError("`walk_speed_mps` and every minute of the curve must be > 0")
    before = np.asarray(before, dtype=np.int64)
    after = np.asarray(after, dtype=np.int64)
    if not np.isin(before, after).all():
        raise ModelError("every site open before the plan must be open after it")
    cutoff = float(max(minutes)) * 60.0 * walk_speed_mps
    sites = problem.sites.take(after)
    walk = costs.cost_matrix(
        problem.network,
        problem.demand["node"],
        sites["node"],
        cutoff_m=cutoff,
        demand_offset_m=problem.demand["snap_m"],
        site_offset_m=sites["snap_m"],
    )
    nearest_after = _nearest(walk)
    nearest_before = _nearest(walk[:, np.flatnonzero(np.isin(after, before))])
    w = problem.weights
    total = float(w.sum())
    rows = []
    for t in sorted(float(x) for x in minutes):
        reach = t * 60.0 * walk_speed_mps
        eb = float(w[nearest_before <= reach].sum())
        ea = float(w[nearest_after <= reach].sum())
        rows.append(
            {
                "minutes": t,
                "metres": reach,
                "elderly_before": eb,
                "elderly_after": ea,
                "share_before": eb / total if total > 0 else 1.0,
                "share_after": ea / total if total > 0 else 1.0,
            }
        )
    return pd.DataFrame(rows)


def _nearest(m: sparse.spmatrix) -> NDArray[np.float64]:
    """Row minimum of the stored entries (inf where a row has none)."""
    csr = sparse.csr_matrix(m)
    out = np.full(csr.shape[0], np.inf)
    has = np.diff(csr.indptr) > 0
    if has.any():
        out[has] = np.minimum.reduceat(csr.data, csr.indptr[:-1][has])
    return out


CURVE_BASIS = (
    "walking minutes at walk_speed_mps from every demand point (社区 and 村 alike) to the "
    "nearest open circle facility, snaps included; the 村 1,000 m circle is not applied"
)


CURVE_BASIS_ZH = "社区与村均按步行时间计算，村的一公里距离标准不用于本曲线"
