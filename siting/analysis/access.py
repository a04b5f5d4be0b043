"""Who is left behind: 2SFCA accessibility, equity across 街道/乡镇, coverage against minutes.

Three measures beside the yes/no circle (:mod:`siting.analysis.coverage`):

* **Accessibility (两步移动搜索法, 2SFCA)** per demand point and per 社区/村: each open circle
  facility's capacity (:func:`site_supply`: floor area or beds, as the data carries them)
  shared among the elderly inside its catchment, then summed back over the facilities each
  point reaches (Luo & Wang 2003). The catchment is the circle that applies to the point
  (社区: the 一刻钟 walk; 村: 1,000 m), so a point's pairs are exactly those of the problem's
  cost matrix. ``decay="gaussian"`` weights each pair by the Gaussian kernel of walk / radius
  (Dai 2010: 1 at the door, 0 at the circle's edge) in both steps. Figures are capacity per
  1,000 elderly (m² or beds). PySAL ``access`` computes the same thing from a long table with
  one cutoff and a Python call per pair; here the problem's sparse matrix is used directly
  (per-point radii, vectorised), and the test suite checks the two agree.
* **Equity across units**: the elderly-weighted Gini of the covered share of each 街道/乡镇
  (and of its accessibility), before and after the plan, with its Lorenz curve and the
  worst-served units (:func:`unit_figures`, read from the tables the run writes).
* **Coverage against walking time** (:func:`coverage_curve`): the share of elderly within
  ``t`` minutes' walk of an open circle facility, for t = 5 ... 30, from one search of the
  walking network at the largest cutoff. Minutes for everyone, 社区 and 村 alike: the 村
  circle is a distance (1,000 m), which the curve does not apply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting.analysis.curve import CURVE_MINUTES, coverage_curve
from siting.analysis.inequality import _rounded, gini, unit_access
from siting.analysis.supply import Supply

if TYPE_CHECKING:
    from siting.problem.build import Problem

log = logging.getLogger(__name__)

Decay = Literal["step", "gaussian"]
PER_ELDERLY = 1000.0  # accessibility is stated per 1,000 elderly


_GAUSS_EDGE = float(np.exp(-0.5))


# --- capacity -------------------------------------------------------------------------------


# --- 2SFCA ----------------------------------------------------------------------------------


def decay_weights(ratio: ArrayLike, decay: Decay = "step") -> NDArray[np.float64]:
    """Weight of a pair at ``ratio`` = walk / catchment radius (0 ... 1): 1 for ``step``; the
    Gaussian kernel scaled to 1 at the door and 0 at the edge for ``gaussian`` (Dai 2010)."""
    r = np.asarray(ratio, dtype=float)
    if decay == "step":
        return np.ones_like(r)
    if decay == "gaussian":
        return (np.exp(-0.5 * r**2) - _GAUSS_EDGE) / (1.0 - _GAUSS_EDGE)
    raise ModelError(f"`decay` must be 'step' or 'gaussian', got {decay!r}")


def two_step_fca(
    cost: sparse.spmatrix,
    radius_m: ArrayLike,
    weights: ArrayLike,
    supply: ArrayLike,
    *,
    decay: Decay = "step",
) -> NDArray[np.float64]:
    """2SFCA accessibility of every demand row: supply per elderly person within reach.

    Parameters
    ----------
    cost
        Demand x site walking metres (sparse; a stored entry is a pair, a stored 0 a real 0).
    radius_m
        The catchment of each demand row (its circle), metres; pairs beyond it are ignored.
    weights
        Elderly per demand row.
    supply
        Capacity per site column; 0 for a closed site.
    decay
        ``step`` (classic 2SFCA) or ``gaussian`` (:func:`decay_weights`).

    Step 1: each site's ratio R_j = S_j / sum_i w_i g(d_ij); step 2: A_i = sum_j g(d_ij) R_j.
    A site no elderly reach has no ratio (it serves nobody); a row no site reaches has 0.
    """
    m = sparse.coo_matrix(cost)
    radius = np.broadcast_to(np.asarray(radius_m, float), (m.shape[0],))
    w = np.asarray(weights, dtype=float)
    s = np.asarray(supply, dtype=float)
    if w.shape != (m.shape[0],) or s.shape != (m.shape[1],):
        raise ModelError(
            f"`weights` ({w.shape}) and `supply` ({s.shape}) must match the {m.shape} matrix"
        )
    keep = m.data <= radius[m.row]
    row, col = m.row[keep], m.col[keep]
    g = decay_weights(m.data[keep] / radius[row], decay)
    demand = np.bincount(col, weights=w[row] * g, minlength=m.shape[1])
    ratio = np.divide(s, demand, out=np.zeros(m.shape[1]), where=demand > 0)
    return np.asarray(np.bincount(row, weights=g * ratio[col], minlength=m.shape[0]), float)


@dataclass(frozen=True)
class Equity:
    """The run's accessibility per demand point and its coverage curve (see the module)."""

    supply: Supply
    decay: Decay
    access_before: NDArray[np.float64]  # per demand point, capacity per 1,000 elderly
    access_after: NDArray[np.float64]
    curve: pd.DataFrame  # minutes, share_before, share_after, elderly_before, elderly_after
    threshold_minutes: float  # the scenario's 一刻钟 (marked on the curve)
    walk_speed_mps: float
    open_after: NDArray[np.int64]  # site columns open with the plan
    floor: float | None = None  # the MCLP's floor on each unit's covered share, if any


def assess(
    problem: Problem,
    selected: Sequence[str],
    supply: Supply,
    *,
    decay: Decay = "step",
    walk_speed_mps: float,
    threshold_minutes: float,
    minutes: Sequence[float] = CURVE_MINUTES,
    floor: float | None = None,
) -> Equity:
    """Accessibility before and after opening ``selected`` (with the existing sites), and the
    coverage curve, for one run."""
    existing = problem.columns("existing")
    after = np.r_[existing, problem.column_of(selected)].astype(np.int64)
    w = problem.weights

    def access(open_columns: NDArray[np.int64]) -> NDArray[np.float64]:
        s = np.zeros(len(problem.sites))
        s[open_columns] = supply.values[open_columns]
        return PER_ELDERLY * two_step_fca(problem.cost, problem.radius_m, w, s, decay=decay)

    curve = coverage_curve(problem, existing, after, walk_speed_mps=walk_speed_mps, minutes=minutes)
    log.info(
        "2SFCA (%s decay, %s): mean %.2f -> %.2f per 1,000 elderly; within %g min: %.1f%% -> "
        "%.1f%%",
        decay,
        supply.column,
        np.average(access(existing), weights=w) if w.sum() > 0 else 0.0,
        np.average(access(after), weights=w) if w.sum() > 0 else 0.0,
        threshold_minutes,
        *(100 * _share_at(curve, threshold_minutes)),
    )
    return Equity(
        supply=supply,
        decay=decay,
        access_before=access(existing),
        access_after=access(after),
        curve=curve,
        threshold_minutes=float(threshold_minutes),
        walk_speed_mps=float(walk_speed_mps),
        open_after=after,
        floor=floor,
    )


def _share_at(curve: pd.DataFrame, minutes: float) -> NDArray[np.float64]:
    hit = curve[np.isclose(curve["minutes"], minutes)]
    if hit.empty:
        return np.array([np.nan, np.nan])
    return hit[["share_before", "share_after"]].to_numpy(dtype=float)[0]


def by_community(codes: ArrayLike, weights: ArrayLike, values: ArrayLike) -> pd.Series:
    """Elderly-weighted mean of a per-point figure per 社区/村 code (the plain mean where a
    community has no elderly)."""
    frame = pd.DataFrame(
        {"code": np.asarray(codes), "w": np.asarray(weights, float), "v": np.asarray(values)}
    )
    frame["wv"] = frame["w"] * frame["v"]
    g = frame.groupby("code")
    total = g["w"].sum()
    return (g["wv"].sum() / total.where(total > 0)).fillna(g["v"].mean())


# --- coverage against walking time ----------------------------------------------------------


# --- inequality -----------------------------------------------------------------------------


def unit_figures(
    communities: pd.DataFrame, units: pd.DataFrame, eq: Equity, *, worst: int = 5
) -> dict[str, Any]:
    """``summary.json``'s ``equity``: from the coverage tables as written (per 社区/村 and per
    街道/乡镇), so every figure can be recomputed from the CSVs."""
    w = units["elderly"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "unit": "street",  # 街道/乡镇, the rows of coverage_by_unit.csv
        "weights": "elderly",
        "gini_before": _rounded(gini(units["share_before"], w)),
        "gini_after": _rounded(gini(units["share_after"], w)),
    }
    if "access_2sfca_before" in communities:
        acc = {k: unit_access(communities, f"access_2sfca_{k}") for k in ("before", "after")}
        aligned = {k: v.reindex(units["code"]).fillna(0.0).to_numpy() for k, v in acc.items()}
        out |= {
            "access_gini_before": _rounded(gini(aligned["before"], w)),
            "access_gini_after": _rounded(gini(aligned["after"], w)),
            "access_measure": "2SFCA",
            "access_decay": eq.decay,
            "access_capacity": eq.supply.column,
            "access_unit": f"{eq.supply.column} per {PER_ELDERLY:,.0f} elderly",
            "access_capacity_sources": _sources(eq),
        }
    ranked = units[units["elderly"] > 0].sort_values(
        ["share_after", "share_before", "code"], kind="stable"
    )
    out["worst_units"] = [
        {
            "code": str(r["code"]),
            "name": str(r["name"]),
            "elderly": round(float(r["elderly"]), 1),
            "share_before": float(r["share_before"]),
            "share_after": float(r["share_after"]),
            "uncovered_after": round(float(r["elderly"]) - float(r["covered_after"]), 1),
        }
        for r in ranked.head(worst).to_dict("records")
    ]
    if eq.floor is not None:
        below = units[(units["elderly"] > 0) & (units["share_after"] < eq.floor - 1e-4)]
        out["floor"] = eq.floor
        out["units_below_floor_after"] = [str(c) for c in below["code"]]
    return out


def _sources(eq: Equity) -> dict[str, int]:
    """Where the capacities of the sites open after the plan came from, with counts."""
    kinds = pd.Series(eq.supply.source).take(eq.open_after).value_counts().sort_index()
    return {str(k): int(v) for k, v in kinds.items()}


def curve_rows(eq: Equity) -> list[dict[str, float]]:
    """``summary.json``'s ``coverage_curve``."""
    return [
        {
            "minutes": float(r["minutes"]),
            "metres": round(float(r["metres"]), 1),
            "share_before": round(float(r["share_before"]), 4),
            "share_after": round(float(r["share_after"]), 4),
        }
        for r in eq.curve.to_dict("records")
    ]
