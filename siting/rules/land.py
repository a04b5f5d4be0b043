"""Land for elderly care per resident, per 街道/乡镇 and overall.

Required land is ``per_capita_m2 x residents`` (resident population, not only the elderly).
Provided land is the ``land_area_m2`` of the existing elderly-care facilities inside each unit;
the proposed sites' land is shown beside it, so a reviewer sees the shortfall before and after.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InputDataError
from siting._record import warn
from siting._validate import preview

log = logging.getLogger(__name__)

LAND_PER_CAPITA_SOURCE = (
    "≥0.2 m²/resident: 开封 (seed 000, 2022; seed 002, 2024), 濮阳 (seed 003), 焦作 (seed 004); "
    "national floor 0.1 m² (GB 50437-2007 3.2.1A; 民发〔2014〕116号 cited by 新乡, seed 001)"
)


def _land_in_units(
    points: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, role: str
) -> tuple[pd.Series, float]:
    """Sum ``land_area_m2`` per unit; also the land of points inside no unit."""
    if len(points) == 0:
        return pd.Series(dtype=float), 0.0
    joined = gpd.sjoin(
        points[["land_area_m2", "geometry"]],
        units[["geometry"]].rename_axis("unit"),
        predicate="within",
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    outside = joined["unit"].isna()
    if outside.any():
        warn(
            "land_outside_units",
            f"{role}: {int(outside.sum())} site(s) lie inside no 街道/乡镇 polygon: ids "
            f"{preview(list(joined.index[outside]))}; their land counts only in the total",
            joined.index[outside],
        )
    return (
        joined.groupby("unit")["land_area_m2"].sum(),
        float(joined.loc[outside, "land_area_m2"].sum()),
    )


def land_check(
    units: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    per_capita_m2: float,
    total_label: str = "合计",
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
    per_capita_m2
        Land required per resident, m² (0.2 in the Henan cities' rules).

    Returns
    -------
    pandas.DataFrame
        One row per unit and a last total row: ``unit``, ``name``, ``residents``,
        ``required_m2``, ``provided_m2``, ``shortfall_m2``, ``proposed_m2``,
        ``shortfall_after_m2``, ``pass``.
    """
    if not per_capita_m2 > 0:
        raise InputDataError(f"`per_capita_m2` must be > 0, got {per_capita_m2!r}")
    residents = communities.groupby("street_code")["residents"].sum()
    provided, provided_out = _land_in_units(facilities, units, role="facilities")
    new, new_out = _land_in_units(proposed, units, role="proposed sites")
    table = pd.DataFrame({"unit": units.index, "name": units["name"].to_numpy()})
    table["residents"] = residents.reindex(units.index).fillna(0).to_numpy()
    table["provided_m2"] = provided.reindex(units.index).fillna(0).to_numpy()
    table["proposed_m2"] = new.reindex(units.index).fillna(0).to_numpy()
    total = pd.DataFrame(
        [
            {
                "unit": "total",
                "name": total_label,
                "residents": table["residents"].sum(),
                "provided_m2": table["provided_m2"].sum() + provided_out,
                "proposed_m2": table["proposed_m2"].sum() + new_out,
            }
        ]
    )
    table = pd.concat([table, total], ignore_index=True)
    table["per_capita_m2"] = per_capita_m2
    table["required_m2"] = (table["residents"] * per_capita_m2).round(1)
    table["shortfall_m2"] = np.maximum(table["required_m2"] - table["provided_m2"], 0).round(1)
    table["shortfall_after_m2"] = np.maximum(
        table["required_m2"] - table["provided_m2"] - table["proposed_m2"], 0
    ).round(1)
    table["pass"] = table["shortfall_m2"] <= 0
    cols = [
        "unit",
        "name",
        "residents",
        "per_capita_m2",
        "required_m2",
        "provided_m2",
        "shortfall_m2",
        "proposed_m2",
        "shortfall_after_m2",
        "pass",
    ]
    log.info(
        "land check at %.2f m²/resident: %d of %d units short before the proposed sites",
        per_capita_m2,
        int((~table["pass"].iloc[:-1]).sum()),
        len(table) - 1,
    )
    return table[cols]
