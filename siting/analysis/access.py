"""Who is left behind: 2SFCA accessibility, equity across 街道/乡镇, coverage against minutes.

Three measures beside the yes/no circle (:mod:`siting.coverage`):

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

from siting._errors import InputDataError, ModelError
from siting._messages import preview
from siting._record import warn
from siting.network import distances as costs

if TYPE_CHECKING:
    from siting.problem.build import Problem
    from siting.rules.book import RuleBook

log = logging.getLogger(__name__)

Decay = Literal["step", "gaussian"]
CURVE_MINUTES: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
PER_ELDERLY = 1000.0  # accessibility is stated per 1,000 elderly
CAPACITY_COLUMNS = ("floor_area_m2", "beds")
CAPACITY_ZH = {"floor_area_m2": ("建筑面积", "m²"), "beds": ("床位", "张"), "sites": ("设施", "处")}


def capacity_zh(column: str) -> tuple[str, str]:
    """What a capacity column measures and its unit, in Chinese (a column of the bureau's own,
    ``equity.capacity_column``, is named as it is, unit 单位)."""
    return CAPACITY_ZH.get(column, (f"列 {column}", "单位"))


_RULE_OF = {  # capacity column -> facility role -> the rule book's minimum for it
    "floor_area_m2": {
        "street_centre": "street_centre_floor",
        "community": "community_facility_floor",
        "rural_home": "rural_home_basic_floor",
    },
    "beds": {
        "street_centre": "street_centre_beds",
        "community": "community_facility_beds",
        "rural_home": "rural_home_basic_beds",
    },
}
_ROLE_OF_KIND = {"社区": "community", "村": "rural_home"}  # a new site's role by where it stands
_GAUSS_EDGE = float(np.exp(-0.5))


# --- capacity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    """Each site column's capacity for 2SFCA and where the figure came from."""

    column: str  # floor_area_m2, beds, or sites (one per facility: no figure in the data)
    values: NDArray[np.float64]  # per site column of the problem
    source: tuple[str, ...]  # per site column: data, candidates, rule:<id>, median, one

    @property
    def label_zh(self) -> str:
        what, unit = capacity_zh(self.column)
        return f"每千名老人可及{what}（{unit}）"


def choose_capacity(facilities: pd.DataFrame, column: str | None) -> str:
    """The capacity column: ``column`` when given (it must exist), else floor_area_m2 when any
    circle facility has a figure there (day-care centres are sized by floor area in the rule
    books; their beds are often 0), else beds, else ``sites`` (each facility counts as one)."""
    if column is not None:
        if column not in facilities:
            raise InputDataError(
                f"`equity.capacity_column` {column!r} is not a column of the facilities "
                f"(columns: {preview(list(facilities.columns))}); name one of them, or leave it "
                "unset to use floor_area_m2 or beds"
            )
        return column
    for c in CAPACITY_COLUMNS:
        if c in facilities and pd.to_numeric(facilities[c], errors="coerce").notna().any():
            return c
    return "sites"


def site_supply(
    problem: Problem,
    facilities: pd.DataFrame,
    candidates: pd.DataFrame,
    book: RuleBook,
    *,
    column: str | None = None,
) -> Supply:
    """Capacity of every site column of ``problem`` (existing facilities and candidates).

    Existing circle facilities take their own figure. A candidate takes its own figure when its
    table has the column, else the rule book's minimum for a facility where it stands (社区:
    社区日间照料中心; 村: 农村幸福院, basic grade), else the median of the existing ones of that
    kind: the size the plan assumes, counted by source in ``summary.json``
    (``equity.access_capacity_sources``). An existing facility without a figure (odd data) takes
    the rule minimum for its type, else the median, as a recorded warning naming it.
    """
    sites = problem.sites
    existing = sites["role"].to_numpy() == "existing"
    fac = facilities.loc[sites.loc[existing, "id"]]
    # the column is chosen from every facility given (a plan may close all of them)
    col = choose_capacity(facilities, column)
    values = np.full(len(sites), np.nan)
    source = np.array(["data"] * len(sites), dtype=object)
    if col == "sites":
        warn(
            "equity_capacity_count",
            (
                "accessibility (2SFCA): there are no existing facilities to size sites by"
                if facilities.empty
                else "accessibility (2SFCA): the facilities have neither floor_area_m2 nor beds"
            )
            + "; every open circle site counts as one facility",
            zh=(
                "可达性（2SFCA）：没有可据以确定规模的现有设施"
                if facilities.empty
                else "可达性（2SFCA）：设施既无 floor_area_m2（建筑面积）也无 beds（床位）"
            )
            + "；每个开放的服务圈站点按 1 个设施计",
        )
        return Supply("sites", np.ones(len(sites)), tuple(["one"] * len(sites)))
    values[existing] = pd.to_numeric(fac[col], errors="coerce").to_numpy(dtype=float)
    cand = ~existing
    if col in candidates:
        own = candidates.reindex(sites.loc[cand, "id"])[col]
        values[cand] = pd.to_numeric(own, errors="coerce").to_numpy(dtype=float)
        source[cand] = "candidates"
    bad = np.flatnonzero(values < 0)
    if len(bad):
        raise InputDataError(
            f"capacity column {col!r}: negative figures for sites "
            f"{preview(sites['id'].take(bad).tolist())}; correct them in the facilities or "
            "candidates file"
        )
    roles = [
        book.role_of(str(t)) if e else _ROLE_OF_KIND.get(str(k), "community")
        for t, e, k in zip(
            facilities["type"].reindex(sites["id"]).to_numpy(),
            existing,
            sites["kind"].to_numpy(),
            strict=True,
        )
    ]
    given = pd.to_numeric(facilities[col], errors="coerce").dropna()
    _fill_missing(values, source, roles, sites, existing, col, book, given)
    return Supply(col, values, tuple(str(s) for s in source))


def _fill_missing(
    values: NDArray[np.float64],
    source: NDArray[np.object_],
    roles: list[str | None],
    sites: pd.DataFrame,
    existing: NDArray[np.bool_],
    col: str,
    book: RuleBook,
    given: pd.Series,
) -> None:
    """Missing capacities from the rule book, else the median of the open existing ones of the
    kind, else of every facility given (``given``: the column's figures)."""
    kinds = sites["kind"].to_numpy()
    known = existing & ~np.isnan(values)
    median = {str(k): float(np.median(values[known & (kinds == k)])) for k in set(kinds[known])}
    overall = (
        float(np.median(values[known]))
        if known.any()
        else float(given.median())
        if len(given)
        else None
    )
    for k in np.flatnonzero(np.isnan(values)):
        rule = book.get(_RULE_OF.get(col, {}).get(roles[k] or "", ""))
        if rule is not None:
            values[k], source[k] = rule.figure, f"rule:{rule.id}"
            continue
        fallback = median.get(str(kinds[k]), overall)
        if fallback is None:
            raise InputDataError(
                f"capacity column {col!r}: no facility has a figure and the rule book "
                f"{book.set_id!r} sets none for site {sites['id'].iloc[k]!r}; give the figure "
                "or choose another `equity.capacity_column`"
            )
        values[k], source[k] = fallback, "median"
    # a new site's size is the plan's (counted by source in the summary); a facility's is data
    for how in sorted({str(s) for s in source[existing]} - {"data"}):
        hit = existing & (source == how)
        warn(
            "equity_capacity_assumed",
            f"accessibility (2SFCA): {int(hit.sum())} facilities without a {col} figure taken "
            + (
                f"at the rule book's minimum ({how[5:]})"
                if how.startswith("rule:")
                else f"at the median {col} of the existing facilities of their kind (the rule "
                "book sets no minimum for them)"
            ),
            sites["id"][hit].tolist(),
            zh=f"可达性（2SFCA）：{int(hit.sum())} 个设施缺少 {col} 数值，"
            + (
                f"按规则集的最低标准（{how[5:]}）计"
                if how.startswith("rule:")
                else f"按同类现有设施 {col} 的中位数计（规则集对其未设最低标准）"
            ),
        )


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


# --- inequality -----------------------------------------------------------------------------


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Weighted Gini coefficient: sum_ij w_i w_j |x_i - x_j| / (2 W^2 mean), mean weighted.

    With integer weights it equals the Gini of the values repeated by their weights (PySAL
    ``inequality``'s ``Gini``); rows with weight 0 do not count. 0 when all are equal; NaN
    (undefined, not "perfectly equal") when every value is 0 or no row has weight: nobody is
    covered, so there is no share to compare; values must be >= 0.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.shape != w.shape or (w < 0).any() or (x[w > 0] < 0).any() or np.isnan(x[w > 0]).any():
        raise ModelError("gini: values and weights of one shape, weights >= 0, values >= 0")
    use = w > 0
    x, w = x[use], w[use]
    total, mass = w.sum(), (w * x).sum()
    if total <= 0 or mass <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    below = np.cumsum(w) - w  # weight strictly before each row in sorted order
    # sum_{i<j} w_i w_j (x_j - x_i)
    #   = sum_j w_j x_j below_j - sum_i w_i x_i (total - below_i - w_i)
    half = float((w * x * below).sum() - (w * x * (total - below - w)).sum())
    return max(half / (total * mass), 0.0)


def lorenz(values: ArrayLike, weights: ArrayLike) -> pd.DataFrame:
    """The Lorenz curve of ``values`` weighted by ``weights``: units sorted by value, the
    cumulative share of weight (``population``) against the cumulative share of weight x value
    (``covered``), starting at (0, 0)."""
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    use = w > 0
    order = np.argsort(x[use], kind="stable")
    x, w = x[use][order], w[use][order]
    mass = (w * x).sum()
    pop = np.r_[0.0, np.cumsum(w) / w.sum()] if w.sum() > 0 else np.array([0.0, 1.0])
    cov = np.r_[0.0, np.cumsum(w * x) / mass] if mass > 0 else pop.copy()
    return pd.DataFrame({"population": pop, "covered": cov})


def _rounded(value: float) -> float | None:
    """A Gini for ``summary.json``: 4 decimals, ``null`` when undefined (nobody covered)."""
    return None if np.isnan(value) else round(value, 4)


def gini_zh(value: float | None) -> str:
    """A Gini as the documents show it; undefined says why."""
    return "不适用（无人覆盖）" if value is None or np.isnan(value) else f"{value:.3f}"


def unit_access(communities: pd.DataFrame, column: str) -> pd.Series:
    """A per-community figure rolled up to 街道/乡镇 (``street_code``), elderly-weighted."""
    frame = communities.assign(wv=communities["elderly"] * communities[column])
    g = frame.groupby("street_code")
    total = g["elderly"].sum()
    return (g["wv"].sum() / total.where(total > 0)).fillna(g[column].mean())


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


CURVE_BASIS = (
    "walking minutes at walk_speed_mps from every demand point (社区 and 村 alike) to the "
    "nearest open circle facility, snaps included; the 村 1,000 m circle is not applied"
)

CURVE_BASIS_ZH = "社区与村均按步行时间计算，村的一公里距离标准不用于本曲线"

# --- map layer (for siting.maps) ------------------------------------------------------------


# --- the figure beside map.png (written by siting.report) -----------------------------------
