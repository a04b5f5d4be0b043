"""Tables and ``summary.json`` for review meetings, all derived from one :class:`RunResult`.

Every figure in ``summary.json`` is computed from the same tables written as CSV, so they agree:
``covered_after.elderly - covered_before.elderly`` is the sum of ``new_sites[].newly_covered``
and of ``proposed_sites.csv``'s ``newly_covered`` column. CSVs are UTF-8 with BOM for Excel.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting import __version__
from siting.io.write import write_csv, write_json
from siting.pipeline import RunResult

log = logging.getLogger(__name__)

GENERATOR = "siting"


def _covered(elderly: float, total: float) -> dict[str, float]:
    return {"elderly": round(elderly, 1), "share": round(elderly / total, 4) if total else 1.0}


def proposed_table(res: RunResult) -> pd.DataFrame:
    """The proposed sites in build order, with who they newly cover."""
    p = res.proposed.sort_values("build_order")
    covered_by = _communities_newly_covered(res)
    return pd.DataFrame(
        {
            "build_order": p["build_order"].to_numpy(),
            "id": p.index.to_numpy(),
            "name": p.get("name", pd.Series(p.index, index=p.index)).to_numpy(),
            "lon": p.geometry.x.round(7).to_numpy(),
            "lat": p.geometry.y.round(7).to_numpy(),
            "newly_covered": p["newly_covered"].round(1).to_numpy(),
            "land_area_m2": p["land_area_m2"].to_numpy(),
            "communities_newly_covered": [covered_by.get(s, "") for s in p.index],
        }
    )


def _communities_newly_covered(res: RunResult) -> dict[str, str]:
    """For each proposed site, the 社区/村 whose elderly it adds, in build order attribution."""
    pts = res.demand
    newly = pts["covered_after"].to_numpy() & ~pts["covered_before"].to_numpy()
    names = res.inputs.communities["name"]
    site_col = {s: i for i, s in enumerate(res.sites["id"])}
    taken = np.zeros(len(pts), dtype=bool)
    out: dict[str, str] = {}
    radius = pts["radius_m"].to_numpy()
    cost = res.cost.tocsc()
    for site in res.model.selected:
        col = cost[:, site_col[site]]
        reach = np.zeros(len(pts), dtype=bool)
        reach[col.indices[col.data <= radius[col.indices]]] = True
        mine = reach & newly & ~taken
        taken |= mine
        codes = pd.unique(pts.loc[mine, "community"])
        out[site] = "、".join(f"{names[c]}({c})" for c in codes)
    return out


def summary(res: RunResult, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The run's headline figures; every one traceable to the tables and the scenario."""
    sc, m = res.scenario, res.model
    total = float(res.demand["weight"].sum())
    comm = tables["coverage_by_community"]
    land = tables["land_check"]
    return {
        "generator": GENERATOR,
        "version": __version__,
        "scenario": sc.name,
        "description": sc.description,
        "analysis_crs": res.crs,
        "walk_speed_mps": sc.coverage.walk_speed_mps,
        "urban_minutes": sc.coverage.urban_minutes,
        "urban_radius_m": sc.coverage.urban_radius_m,
        "rural_radius_m": sc.coverage.rural_radius_m,
        "circle_facility_types": list(sc.coverage.facility_types),
        "communities": len(comm),
        "demand_points": len(res.demand),
        "elderly_total": round(total, 1),
        "covered_before": _covered(float(comm["covered_before"].sum()), total),
        "covered_after": _covered(float(comm["covered_after"].sum()), total),
        "uncoverable": _covered(m.uncoverable, total),
        "communities_uncovered_before": int((comm["share_before"] <= 0).sum()),
        "communities_uncovered_after": int((comm["share_after"] <= 0).sum()),
        "new_sites": [
            {"id": r.id, "lon": r.lon, "lat": r.lat, "newly_covered": r.newly_covered}
            for r in tables["proposed_sites"].itertuples()
        ],
        "model": {
            "name": sc.model.name,
            "p": m.p,
            "objective": round(m.objective, 1),
            "newly_covered": round(m.newly_covered, 1),
            "bound": round(m.bound, 1),
            "status": m.status,
            "gap": m.gap,
            "solver": m.solver,
            "time_s": round(m.time_s, 3),
        },
        "land_check": [
            {
                "unit": r.unit,
                "name": r.name,
                "required_m2": r.required_m2,
                "provided_m2": r.provided_m2,
                "shortfall_m2": r.shortfall_m2,
                "proposed_m2": r.proposed_m2,
                "shortfall_after_m2": r.shortfall_after_m2,
            }
            for r in land.itertuples()
        ],
        "land_rule": _rule_summary(res, "land_per_capita"),
        "rules": {
            "set": res.rules.set_id,
            "chain": list(res.rules.titles),
            "overrides": dict(sc.rules.overrides),
        },
        "compliance": _compliance_rows(tables["compliance"]),
        "compliance_failures": int((tables["compliance"]["pass"] == False).sum()),  # noqa: E712
        "compliance_no_data": int(tables["compliance"]["pass"].isna().sum()),
        "timings_s": {k: round(v, 3) for k, v in res.timings_s.items()},
    }


def _rule_summary(res: RunResult, rule_id: str) -> dict[str, Any]:
    rule = res.rules.get(rule_id)
    if rule is None:
        return {}
    return {
        "rule": rule.id,
        "figure": rule.figure,
        "unit": rule.unit,
        "source": rule.source,
        "confidence": rule.confidence,
        "set": rule.defined_in,
    }


def _compliance_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    keep = [
        "unit",
        "unit_name",
        "rule",
        "stage",
        "required",
        "actual",
        "shortfall",
        "pass",
        "source",
    ]
    rows = table[keep].astype(object).where(table[keep].notna(), None)
    return [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]


def tables(res: RunResult) -> dict[str, pd.DataFrame]:
    """The report tables by file stem."""
    return {
        "coverage_by_community": res.communities,
        "coverage_by_unit": res.units,
        "proposed_sites": proposed_table(res),
        "land_check": res.land,
        "compliance": res.compliance,
    }


def write(res: RunResult, out_dir: Path) -> dict[str, Path]:
    """Write ``summary.json`` and the CSV tables into ``out_dir`` (each file atomically)."""
    tabs = tables(res)
    paths = {stem: write_csv(out_dir / f"{stem}.csv", t) for stem, t in tabs.items()}
    paths["summary"] = write_json(out_dir / "summary.json", _plain(summary(res, tabs)))
    return paths


def _plain(obj: Any) -> Any:
    """numpy scalars to Python numbers so JSON is exact and stable."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj
