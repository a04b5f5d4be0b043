"""Land for elderly care per resident, per 街道/乡镇 and overall.

Required land is ``per_capita_m2 x residents`` (resident population, not only the elderly).
Provided land is the ``land_area_m2`` of the existing elderly-care facilities inside each unit;
the proposed sites' land is shown beside it, so a reviewer sees the shortfall before and after.

A facility without a land figure (no ``land_area_m2`` column, as in an Amap export, or an empty
cell) is never counted as 0 m²: ``facilities_without_land`` counts them per unit, ``provided_m2``
is the land of the facilities that have a figure, and a unit whose known land falls short while
some of its facilities have no figure has no verdict (``pass`` empty: no data), not a failure.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InputDataError
from siting._messages import preview
from siting._record import preview_zh, role_zh, warn

log = logging.getLogger(__name__)

LAND_PER_CAPITA_SOURCE = (
    "≥0.2 m²/resident: 开封 (seed 000, 2022; seed 002, 2024), 濮阳 (seed 003), 焦作 (seed 004); "
    "national floor 0.1 m² (GB 50437-2007 3.2.1A; 民发〔2014〕116号 cited by 新乡, seed 001)"
)


class _Land(NamedTuple):
    """Land of points per unit: the known figures summed, the points without a figure, and
    the same for the points inside no unit."""

    known: pd.Series
    unknown: pd.Series
    known_outside: float
    unknown_outside: int


def _land_in_units(points: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, role: str) -> _Land:
    """Sum ``land_area_m2`` per unit (NaN or no column: no figure, counted apart)."""
    if len(points) == 0:
        return _Land(pd.Series(dtype=float), pd.Series(dtype=int), 0.0, 0)
    land = (
        pd.to_numeric(points["land_area_m2"], errors="coerce")
        if "land_area_m2" in points
        else pd.Series(np.nan, index=points.index)
    )
    joined = gpd.sjoin(
        gpd.GeoDataFrame({"land_area_m2": land}, geometry=points.geometry),
        units[["geometry"]].rename_axis("unit"),
        predicate="intersects",
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    outside = joined["unit"].isna()
    missing = joined["land_area_m2"].isna()
    if outside.any():
        warn(
            "land_outside_units",
            f"{role}: {int(outside.sum())} site(s) lie inside no 街道/乡镇 polygon: ids "
            f"{preview(list(joined.index[outside]))}; their land counts only in the total",
            joined.index[outside],
            zh=f"{role_zh(role)}：{int(outside.sum())} 个站点不在任何街道/乡镇面内：编号 "
            f"{preview_zh(list(joined.index[outside]))}；其用地只计入合计",
        )
    return _Land(
        joined.groupby("unit")["land_area_m2"].sum(),
        joined[missing].groupby("unit").size(),
        float(joined.loc[outside, "land_area_m2"].sum()),
        int((outside & missing).sum()),
    )


def land_check(
    units: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    per_capita_m2: float,
    total_label: str = "合计",
    closed: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Check land for elderly care against ``per_capita_m2`` per 街道/乡镇 and in total.

    Parameters
    ----------
    units
        街道/乡镇 polygons indexed by code (same CRS as the points).
    communities
        社区/村 with ``street_code`` and ``residents``.
    facilities, proposed
        Existing facilities and proposed sites with ``land_area_m2``.
    closed
        Existing facilities a given plan closes (``plan.closed``): their land counts today and
        no longer after the plan (``closed_m2``).
    per_capita_m2
        Land required per resident, m² (0.2 in the Henan cities' rules).

    Returns
    -------
    pandas.DataFrame
        One row per unit and a last total row: ``unit``, ``name``, ``residents``,
        ``required_m2``, ``provided_m2`` (facilities with a land figure),
        ``facilities_without_land`` (their count), ``shortfall_m2`` (against the known land),
        ``proposed_m2``, ``closed_m2``, ``shortfall_after_m2``, ``pass`` (True, False, or None:
        short on the known land while some facilities have no figure).
    """
    if not per_capita_m2 > 0:
        raise InputDataError(f"`per_capita_m2` must be > 0, got {per_capita_m2!r}")
    residents = communities.groupby("street_code")["residents"].sum()
    have = _land_in_units(facilities, units, role="facilities")
    new = _land_in_units(proposed, units, role="proposed sites")
    gone = _land_in_units(
        closed if closed is not None else facilities.iloc[:0], units, role="closed facilities"
    )
    table = pd.DataFrame({"unit": units.index, "name": units["name"].to_numpy()})
    table["residents"] = residents.reindex(units.index).fillna(0).to_numpy()
    table["provided_m2"] = have.known.reindex(units.index).fillna(0).to_numpy()
    table["facilities_without_land"] = have.unknown.reindex(units.index).fillna(0).to_numpy(int)
    table["proposed_m2"] = new.known.reindex(units.index).fillna(0).to_numpy()
    table["closed_m2"] = gone.known.reindex(units.index).fillna(0).to_numpy()
    total = pd.DataFrame(
        [
            {
                "unit": "total",
                "name": total_label,
                "residents": table["residents"].sum(),
                "provided_m2": table["provided_m2"].sum() + have.known_outside,
                "facilities_without_land": int(table["facilities_without_land"].sum())
                + have.unknown_outside,
                "proposed_m2": table["proposed_m2"].sum() + new.known_outside,
                "closed_m2": table["closed_m2"].sum() + gone.known_outside,
            }
        ]
    )
    table = pd.concat([table, total], ignore_index=True)
    table["per_capita_m2"] = per_capita_m2
    table["required_m2"] = (table["residents"] * per_capita_m2).round(1)
    table["shortfall_m2"] = np.maximum(table["required_m2"] - table["provided_m2"], 0).round(1)
    table["shortfall_after_m2"] = np.maximum(
        table["required_m2"] - table["provided_m2"] - table["proposed_m2"] + table["closed_m2"], 0
    ).round(1)
    short = (table["shortfall_m2"] > 0).to_numpy()
    unknown = (table["facilities_without_land"] > 0).to_numpy()
    # short on the known land while some land is unknown: no verdict, never a failed 0
    table["pass"] = pd.Series(
        [None if s and u else not s for s, u in zip(short, unknown, strict=True)], dtype=object
    )
    cols = [
        "unit",
        "name",
        "residents",
        "per_capita_m2",
        "required_m2",
        "provided_m2",
        "facilities_without_land",
        "shortfall_m2",
        "proposed_m2",
        "closed_m2",
        "shortfall_after_m2",
        "pass",
    ]
    log.info(
        "land check at %.2f m²/resident: %d of %d units short before the proposed sites, "
        "%d without a verdict (facilities without land figures)",
        per_capita_m2,
        int((table["pass"].iloc[:-1] == False).sum()),  # noqa: E712
        len(table) - 1,
        int(table["pass"].iloc[:-1].isna().sum()),
    )
    return table[cols]
