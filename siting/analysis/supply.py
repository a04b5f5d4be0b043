"""What each open site offers the elderly around it, for the 2SFCA: its floor area or beds (the
column chosen from what the facilities carry), a proposed site sized by the rule book's minimum
for its role, a facility without the figure given its type's median, and where each came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from siting._errors import InputDataError
from siting._messages import preview
from siting._record import warn

if TYPE_CHECKING:
    from siting.problem.build import Problem
    from siting.rules.book import RuleBook


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
