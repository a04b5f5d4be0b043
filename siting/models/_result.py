"""What every location model's ``solve()`` returns: one :class:`Solution` shape.

The fields every model has are plain attributes (the sites in build order with their marginal
gains, objective, bound, gap, status, solver, time, ``uncoverable``); what only some models
have travels as a typed extra: :class:`Walks` for p-median / p-center, :class:`CapacitySplit`
for the capacitated MCLP. Readers (report, map, summary) use these fields, never guess the
model from a dict's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

PLAN_STATUS = "会议方案（指定站点，未经模型优化）"
"""``Solution.status`` of a given plan (Chinese: it is shown as it is in every document)."""


@dataclass(frozen=True)
class SiteGain:
    """One selected site in build order and what it adds after the ones before it (elderly
    covered for the covering models; elderly served for the capacitated one; elderly for whom
    it is the nearest site for the walk models)."""

    site: str
    newly_covered: float


@dataclass(frozen=True)
class Walks:
    """The walks a p-median or p-center answer leaves (metres, network distance)."""

    max_walk_m: float  # longest walk the model considered (the cost matrix's cutoff)
    worst_walk_m: float  # longest walk of a demand point to its nearest open site
    walk_m: NDArray[np.float64] = field(repr=False)  # per demand row; NaN: beyond max_walk_m
    mean_walk_m: float | None = None  # p-median: elderly-weighted mean of the assigned
    unassigned: float | None = None  # p-median: elderly beyond max_walk_m of every open site
    bound_m: float | None = None  # p-center: no p new sites make the longest walk shorter


@dataclass(frozen=True)
class CapacitySplit:
    """The capacitated model's elderly per demand row: served, in reach but over capacity,
    out of reach of every open site; and the elderly assigned to each open site."""

    served: NDArray[np.float64] = field(repr=False)
    over_capacity: NDArray[np.float64] = field(repr=False)
    out_of_reach: NDArray[np.float64] = field(repr=False)
    load: Mapping[str, float] = field(default_factory=dict)
    capacity_column: str | None = None
    elderly_per_place: float = 1.0


@dataclass(frozen=True)
class Solution:
    """A location model's answer and the proof of how good it is.

    ``objective`` and ``bound`` are in the model's own terms: elderly covered with the fixed
    and the selected sites (``mclp``; ``bound`` an upper bound), new sites (``lscp``,
    ``target``; ``bound`` a lower bound), elderly served (``cmclp``), the elderly-weighted
    total walk (``pmedian``; lower bound) or the longest walk in metres (``pcenter``; lower
    bound). ``gap`` is relative. ``uncoverable`` always means the elderly that no usable site
    (existing or candidate, excluded ones left out) reaches within their own circle.
    """

    model: str  # mclp, lscp, target, cmclp, pmedian, pcenter
    gains: tuple[SiteGain, ...]  # the selected sites in build order, with marginal gains
    objective: float
    bound: float
    gap: float
    status: str
    solver: str
    time_s: float
    uncoverable: float
    uncoverable_rows: tuple[int, ...] = ()
    baseline: float = 0.0  # covering models: demand covered by the fixed sites alone
    covered: float | None = None  # covering models: demand covered with the selected sites
    p: int | None = None
    budget: float | None = None
    target_share: float | None = None
    method: str = ""
    walks: Walks | None = None
    capacity: CapacitySplit | None = None

    @property
    def selected(self) -> tuple[str, ...]:
        """The selected site ids in build order."""
        return tuple(g.site for g in self.gains)

    @property
    def newly_covered(self) -> float:
        """Covering models: demand the selected sites add to the fixed sites' coverage."""
        return (self.covered if self.covered is not None else self.objective) - self.baseline
