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

from siting._version import __version__
from siting.analysis import access as equity
from siting.analysis.curve import CURVE_BASIS
from siting.io.write import write_csv, write_json
from siting.results import RunData

log = logging.getLogger(__name__)

GENERATOR = "siting"


def _covered(elderly: float, total: float) -> dict[str, float]:
    return {"elderly": round(elderly, 1), "share": round(elderly / total, 4) if total else 1.0}


def proposed_table(res: RunData) -> pd.DataFrame:
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
            "newly_covered": _tenths_adding_up(
                p["newly_covered"].to_numpy(dtype=float), rounded_gain(res)
            ),
            "land_area_m2": p["land_area_m2"].to_numpy(),
            "communities_newly_covered": [covered_by.get(s, "") for s in p.index],
        }
    )


def rounded_gain(res: RunData) -> float:
    """``covered_after.elderly - covered_before.elderly`` as ``summary.json`` prints them
    (each rounded to 0.1 first), so the printed figures subtract exactly."""
    cov = res.coverage
    after = round(cov.elderly(cov.covered_after) * 10)
    before = round(cov.elderly(cov.covered_before) * 10)
    return (after - before) / 10


def _tenths_adding_up(values: np.ndarray, total: float) -> np.ndarray:
    """``values`` rounded to 0.1 so that they add up to ``total`` (itself a multiple of 0.1).

    Largest remainder: every value is first rounded down to a tenth; the tenths still missing
    go to the values that lost most (ties to the earlier site, in build order). Should the
    figures disagree with ``total`` by more than rounding, the smallest remainders give back.
    """
    if len(values) == 0:
        return values.astype(float)
    tenths = values * 10
    floors = np.floor(tenths + 1e-9)
    missing = int(np.rint(total * 10 - floors.sum()))
    order = np.argsort(-(tenths - floors), kind="stable")
    steps = np.zeros(len(values))
    if missing >= 0:
        steps[order[: missing % len(values)]] = 1
        steps += missing // len(values)
    else:
        steps[order[::-1][: (-missing) % len(values)]] = -1
        steps -= (-missing) // len(values)
    return np.round((floors + steps) / 10, 1)


def _communities_newly_covered(res: RunData) -> dict[str, str]:
    """For each proposed site, the 社区/村 whose elderly it adds (build-order attribution)."""
    names = res.inputs.communities["name"]
    community = res.problem.demand["community"].to_numpy()
    return {
        site: "、".join(f"{names[c]}({c})" for c in pd.unique(community[rows]))
        for site, rows in res.coverage.newly_covered_rows.items()
    }


def model_summary(res: RunData) -> dict[str, Any]:
    """The model's answer for ``summary.json`` → ``model``, from the typed solution."""
    s, m = res.solution, res.scenario.model
    out: dict[str, Any] = {
        "name": s.model,
        "status": s.status,
        "gap": s.gap,
        "solver": s.solver,
        "method": m.method,
    }
    if s.model == "mclp":
        out |= {
            "p": s.p,
            "objective": round(s.objective, 1),
            "newly_covered": rounded_gain(res),  # the printed after - before, to the tenth
            "bound": round(s.bound, 1),
            "budget": m.budget,
        }
    elif s.model in ("lscp", "target"):
        out |= {
            "objective": s.objective,
            "sites": s.objective,
            "lower_bound": s.bound,
            "target_share": m.target_share,
        }
    elif s.capacity is not None:
        out |= {
            "p": m.p,
            "objective": round(s.objective, 1),
            "bound": round(s.bound, 1),
            "served": round(float(s.capacity.served.sum()), 1),
            "over_capacity": round(float(s.capacity.over_capacity.sum()), 1),
            "out_of_reach": round(float(s.capacity.out_of_reach.sum()), 1),
            "capacity_column": m.capacity_column,
            "elderly_per_place": m.elderly_per_place,
        }
    elif s.walks is not None:
        w = s.walks
        out |= {"p": m.p, "max_walk_m": w.max_walk_m, "worst_walk_m": round(w.worst_walk_m, 1)}
        if w.bound_m is not None:  # p-center: the longest walk is the objective
            out |= {"bound_m": round(w.bound_m, 1), "objective": round(s.objective, 1)}
        else:  # p-median: the elderly-weighted total walk
            out |= {
                "mean_walk_m": round(float(w.mean_walk_m or 0.0), 1),
                "unassigned": round(float(w.unassigned or 0.0), 1),
                "objective": round(s.objective, 1),
                "bound": round(s.bound, 1),
            }
    return out


def summary(res: RunData, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The run's headline figures; every one traceable to the tables and the scenario."""
    sc, cov = res.scenario, res.coverage
    total = float(res.demand["weight"].sum())
    split = res.solution.capacity
    comm = tables["coverage_by_community"]
    land = tables["land_check"]
    return {
        "generator": GENERATOR,
        "version": __version__,
        "scenario": sc.name,
        "description": sc.description,
        "analysis_crs": res.crs,
        "walk_speed_mps": sc.coverage.walk_speed_mps,
        "walk_speed_preset": sc.coverage.walk_speed,
        "walk_speed_source": sc.coverage.speed_source,
        "urban_minutes": sc.coverage.urban_minutes,
        "urban_radius_m": sc.coverage.urban_radius_m,
        "rural_radius_m": sc.coverage.rural_radius_m,
        "circle_facility_types": list(res.inputs.circle_types),
        "facility_types": [
            {"type": str(t), "count": int(n), "forms_circles": t in res.inputs.circle_types}
            for t, n in res.inputs.facilities["type"].value_counts().sort_index().items()
        ],
        "communities": len(comm),
        # "points": 社区/村 given as 居委会 points, their areas derived cells (siting.inputs.cells)
        "community_geometry": res.inputs.community_geometry,
        "demand_points": len(res.demand),
        "age_group": res.inputs.age_group,
        "elderly_total": round(total, 1),
        # exact sums, rounded once (the community table rounds each row to 0.1)
        "covered_before": _covered(cov.elderly(cov.covered_before), total),
        "covered_after": _covered(cov.elderly(cov.covered_after), total),
        "uncoverable": _covered(cov.elderly(cov.uncoverable), total),
        **(
            {
                "served": _covered(float(split.served.sum()), total),
                "over_capacity": _covered(float(split.over_capacity.sum()), total),
                "out_of_reach": _covered(float(split.out_of_reach.sum()), total),
            }
            if split is not None
            else {}
        ),
        "communities_uncovered_before": int((comm["share_before"] <= 0).sum()),
        "communities_uncovered_after": int((comm["share_after"] <= 0).sum()),
        "new_sites": [
            {"id": r.id, "lon": r.lon, "lat": r.lat, "newly_covered": r.newly_covered}
            | ({"served": round(split.load.get(str(r.id), 0.0), 1)} if split is not None else {})
            for r in tables["proposed_sites"].itertuples()
        ],
        "model": model_summary(res),
        "land_check": [_land_row(r) for r in land.to_dict("records")],
        "land_rule": _rule_summary(res, "land_per_capita"),
        "projection": sc.projection.model_dump() if sc.projection else None,
        "inputs": {key: str(path) for key, path in sc.input_paths().items()},
        "excluded_population": _excluded(res),
        "population_join": res.inputs.population_join.summary()
        if res.inputs.population_join is not None
        else None,
        "rules": {
            "set": res.rules.set_id,
            "chain": list(res.rules.titles),
            "overrides": dict(sc.rules.overrides),
        },
        "compliance": _compliance_rows(tables["compliance"]),
        "compliance_checks": len(tables["compliance"]),
        "compliance_failures": int((tables["compliance"]["pass"] == False).sum()),  # noqa: E712
        "compliance_no_data": int(tables["compliance"]["pass"].isna().sum()),
        "warnings": [n.as_dict() for n in res.warnings],
        **_equity_summary(res, tables),
    }


def _equity_summary(res: RunData, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """``equity`` (Gini across 街道/乡镇 from coverage_by_unit.csv, 2SFCA, worst units) and
    ``coverage_curve`` (:mod:`siting.analysis.access`); nothing for a result made without them."""
    eq = res.equity
    if eq is None:
        return {}
    return {
        "equity": equity.unit_figures(
            tables["coverage_by_community"], tables["coverage_by_unit"], eq
        ),
        "coverage_curve": equity.curve_rows(eq),
        "coverage_curve_basis": CURVE_BASIS,
        "coverage_curve_threshold_minutes": eq.threshold_minutes,
    }


def _land_row(r: dict[Any, Any]) -> dict[str, Any]:
    """One 街道/乡镇 (or the total) of the land check for ``summary.json``."""
    keys = ("unit", "name", "required_m2", "provided_m2", "shortfall_m2")
    return {
        **{k: r[k] for k in keys},
        "proposed_m2": r["proposed_m2"],
        "closed_m2": r.get("closed_m2", 0.0),
        "shortfall_after_m2": r["shortfall_after_m2"],
        "facilities_without_land": int(r["facilities_without_land"]),
        "pass": None if pd.isna(r["pass"]) else bool(r["pass"]),
    }


def _excluded(res: RunData) -> list[dict[str, Any]]:
    """Population rows the run left out, by the scenario's explicit choice, with the reason."""
    frame = res.inputs.excluded_population
    if frame is None or frame.empty:
        return []
    return [
        {
            "code": str(r["code"]),
            "elderly": round(float(r["elderly_60plus"]), 1),
            "reason": str(r["reason"]),
        }
        for r in frame.to_dict("records")
    ]


def _rule_summary(res: RunData, rule_id: str) -> dict[str, Any]:
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


TABLES = (
    "coverage_by_community",
    "coverage_by_unit",
    "proposed_sites",
    "land_check",
    "compliance",
    "join_report",
)


DECIMALS = {
    # elderly (people, weighted by demand points): to 0.1
    "elderly": 1,
    "covered_before": 1,
    "covered_after": 1,
    "newly_covered": 1,
    "residents": 1,
    # shares of the elderly: 4 places (0.1234 = 12.34%)
    "share_before": 4,
    "share_after": 4,
    # walking distances in metres: to 0.1 m (the nearest facility: to 1 m); areas in m²: 0.1
    "radius_m": 1,
    "nearest_before_m": 0,
    # 2SFCA accessibility, capacity per 1,000 elderly (m² or beds): to 0.01
    "access_2sfca_before": 2,
    "access_2sfca_after": 2,
    "per_capita_m2": 4,  # a rule figure (0.2 m² per resident), not an area
    # coordinates: 7 places (about 1 cm)
    "lon": 7,
    "lat": 7,
}
"""Decimal places of each float column in the CSV tables. A column not named here rounds by
its suffix (``_m2``, ``_m``: 1) or else to 4 places (rule figures: shares, ‰, m², beds)."""


def _decimals(column: str) -> int:
    if column in DECIMALS:
        return DECIMALS[column]
    if column.endswith("_m2"):
        return 1
    if column.endswith("_m"):
        return 1
    return 4


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Every float column rounded to its stated precision (:data:`DECIMALS`), so a CSV shows
    ``1187.6``, never ``1187.6000000000001``."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    if not floats:
        return frame
    return frame.assign(**{str(c): frame[c].round(_decimals(str(c))) for c in floats})


def tables(res: RunData) -> dict[str, pd.DataFrame]:
    """The report tables by file stem (:data:`TABLES`), floats rounded (:func:`rounded`)."""
    raw = {
        "coverage_by_community": res.communities,
        "coverage_by_unit": res.units,
        "proposed_sites": proposed_table(res),
        "land_check": res.land,
        "compliance": res.compliance,
        "join_report": join_report(res),
    }
    return {stem: rounded(frame) for stem, frame in raw.items()}


def join_report(res: RunData) -> pd.DataFrame:
    """``join_report.csv``: every population row joined, with its line in the file, its name
    and 街道 as written, the 社区/村 it was joined to and how (exact / normalised / code)."""
    from siting.inputs.population import REPORT_COLUMNS

    report = res.inputs.population_join
    if report is None:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    return report.matches.sort_values("row", kind="stable").reset_index(drop=True)


def write(res: RunData, out_dir: Path) -> dict[str, Path]:
    """Write ``summary.json`` and the CSV tables into ``out_dir`` (each file atomically)."""
    tabs = tables(res)
    paths = {stem: write_csv(out_dir / f"{stem}.csv", t) for stem, t in tabs.items()}
    paths["summary"] = write_json(out_dir / "summary.json", _plain(summary(res, tabs)))
    # run times vary from run to run: kept apart so the summary is byte-for-byte reproducible
    times = {
        **{k: round(v, 3) for k, v in res.timings_s.items()},
        "model_solve_s": round(res.solution.time_s, 3),
    }
    paths["timings"] = write_json(out_dir / "timings.json", times)
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
