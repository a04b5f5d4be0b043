"""Elderly counts grown to a plan year: a yearly rate from the census year, times a factor per
社区/村 or 街道/乡镇 code where the scenario's ``projection.factors`` gives one. It runs on the
inputs, before any network."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InputDataError
from siting._messages import preview

log = logging.getLogger(__name__)


def project_elderly(
    communities: gpd.GeoDataFrame,
    *,
    year: int,
    base_year: int,
    annual_rate: float | None,
    factors: dict[str, float],
) -> gpd.GeoDataFrame:
    """Grow ``elderly_60plus`` to ``year``: ``(1 + annual_rate) ** (year - base_year)``, times a
    factor for the 社区/村 code if given, else for its 街道/乡镇 code. Unknown codes are errors."""
    known = set(communities.index) | set(communities["street_code"])
    unknown = sorted(set(factors) - known)
    if unknown:
        raise InputDataError(
            f"`projection.factors` names codes that are neither 社区/村 nor "
            f"街道/乡镇: {preview(unknown)}"
        )
    growth = (1.0 + annual_rate) ** (year - base_year) if annual_rate is not None else 1.0
    unit_factor = communities["street_code"].map(factors).astype(float)
    own = pd.Series(
        communities.index.map(lambda c: factors.get(c, np.nan)),
        index=communities.index,
        dtype=float,
    )
    factor = own.fillna(unit_factor).fillna(1.0) * growth
    out = communities.copy()
    before = float(out["elderly_60plus"].sum())
    out["elderly_60plus"] = out["elderly_60plus"].astype(float) * factor
    log.info(
        "projection to %d: elderly (60+) %s -> %s (growth %.4f per year from %d, %d "
        "code factor(s))",
        year,
        f"{before:,.0f}",
        f"{out['elderly_60plus'].sum():,.0f}",
        annual_rate or 0.0,
        base_year,
        len(factors),
    )
    return out
