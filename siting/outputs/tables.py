"""Tables and ``summary.json`` for review meetings, all derived from one :class:`RunResult`.

Every figure in ``summary.json`` is computed from the same tables written as CSV, so they agree:
``covered_after.elderly - covered_before.elderly`` is the sum of ``new_sites[].newly_covered``
and of ``proposed_sites.csv``'s ``newly_covered`` column. CSVs are UTF-8 with BOM for Excel.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import OutputError
from siting._text import text_cells
from siting._version import __version__
from siting.analysis import access as equity
from siting.io.spatial import write_gpkg, write_shapefiles
from siting.io.write import output_folder, write_csv, write_json, write_with, write_workbook
from siting.outputs import _background as background
from siting.outputs import mapimage
from siting.pipeline.plan import PLAN_STATUS
from siting.pipeline.stages import RunResult
from siting.rules.book import CONFIDENCE_ZH
from siting.scenario import speed_source_zh

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
            "newly_covered": _tenths_adding_up(
                p["newly_covered"].to_numpy(dtype=float), rounded_gain(res)
            ),
            "land_area_m2": p["land_area_m2"].to_numpy(),
            "communities_newly_covered": [covered_by.get(s, "") for s in p.index],
        }
    )


def rounded_gain(res: RunResult) -> float:
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


def _communities_newly_covered(res: RunResult) -> dict[str, str]:
    """For each proposed site, the 社区/村 whose elderly it adds (build-order attribution)."""
    names = res.inputs.communities["name"]
    community = res.problem.demand["community"].to_numpy()
    return {
        site: "、".join(f"{names[c]}({c})" for c in pd.unique(community[rows]))
        for site, rows in res.coverage.newly_covered_rows.items()
    }


def model_summary(res: RunResult) -> dict[str, Any]:
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


def summary(res: RunResult, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
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
        # "points": 社区/村 given as 居委会 points, their areas derived cells (siting.cells)
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


def _equity_summary(res: RunResult, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """``equity`` (Gini across 街道/乡镇 from coverage_by_unit.csv, 2SFCA, worst units) and
    ``coverage_curve`` (:mod:`siting.equity`); nothing for a result made without them."""
    eq = res.equity
    if eq is None:
        return {}
    return {
        "equity": equity.unit_figures(
            tables["coverage_by_community"], tables["coverage_by_unit"], eq
        ),
        "coverage_curve": equity.curve_rows(eq),
        "coverage_curve_basis": equity.CURVE_BASIS,
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


def _excluded(res: RunResult) -> list[dict[str, Any]]:
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


def tables(res: RunResult) -> dict[str, pd.DataFrame]:
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


def join_report(res: RunResult) -> pd.DataFrame:
    """``join_report.csv``: every population row joined, with its line in the file, its name
    and 街道 as written, the 社区/村 it was joined to and how (exact / normalised / code)."""
    from siting.inputs.population import REPORT_COLUMNS

    report = res.inputs.population_join
    if report is None:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    return report.matches.sort_values("row", kind="stable").reset_index(drop=True)


def write(res: RunResult, out_dir: Path) -> dict[str, Path]:
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


OUTPUTS = (
    *(f"{stem}.csv" for stem in TABLES),
    "summary.json",
    "timings.json",
    "map.html",
    "report.xlsx",
    "map.png",
    "coverage_curve.png",
    "results.gpkg",
    "shapefile",
)
"""Every name a run writes in its output folder (a previous run's are replaced, never mixed)."""


def check_out_dir(out: Path, *, overwrite: bool = False) -> Path:
    """``out`` if a run may be written there: a new or empty folder, or one a previous
    ``siting run`` / ``siting compare`` wrote; a folder holding others' files only with
    ``overwrite`` (their files are then kept beside the new set, those named like an output
    replaced). Never a file, nor the current folder or one holding it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {str(out)!r} is a file, not a folder; choose a folder")
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise OutputError(
            f"output folder {str(out)!r} is the current folder or holds it: a run replaces its "
            "folder as a whole; choose a folder of its own (e.g. maps/<name>)"
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        summary = out / "summary.json"
        ours = (out / "compare.csv").is_file()  # a comparison siting wrote before
        if summary.is_file():
            try:
                ours = json.loads(summary.read_text(encoding="utf-8")).get("generator") == GENERATOR
            except (ValueError, OSError):
                ours = False
        if not ours:
            raise OutputError(
                f"output folder {str(out)!r} already holds files that siting did not write; "
                "choose another folder, or overwrite (--overwrite; in Python "
                "write(..., overwrite=True)): your files are kept, those named like an output "
                "are replaced"
            )
    return out


_SETS_WRITTEN = 0  # output sets this process has started: from the second, matplotlib stays


def write_all(res: RunResult, out_dir: str | Path) -> dict[str, Path]:
    """Every output the scenario asks for: tables, summary, and (by ``output``) the map.

    The set is written into a temporary folder beside ``out_dir`` and swapped in at the end
    (:func:`siting.io.write.output_folder`): an interrupted run leaves the previous complete
    set, never a mix of two runs. A disk that is full or a folder that cannot be written is an
    :class:`~siting.OutputError` naming the folder and the fix (it was an "unexpected failure").
    """
    try:
        return _write_all(res, Path(out_dir))
    except OutputError:
        raise
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(
            f"the outputs could not be written into {str(out_dir)!r}: "
            f"{exc.strerror or exc}{where}; the folder keeps its previous complete set. Free "
            "disk space, or choose a folder you can write (--out)"
        ) from exc


def _write_all(res: RunResult, out_dir: Path) -> dict[str, Path]:
    from siting.outputs.webmap import page as maps

    global _SETS_WRITTEN
    if _SETS_WRITTEN and res.scenario.output.map_png:
        mapimage.prepare()  # a second set in this process: the forks inherit matplotlib
    _SETS_WRITTEN += 1
    with output_folder(out_dir, outputs=OUTPUTS) as tmp:
        paths = write(res, tmp)
        proposed = tables(res)["proposed_sites"]
        out = res.scenario.output

        projected = mapimage.layers(res) if out.map_png else None  # PROJ here, not in a fork

        def pictures() -> dict[str, Path]:
            done = {"png": maps.write_png(res, proposed, tmp / "map.png", projected)}
            if res.equity is not None:
                done["curve_png"] = write_curve_png(res, tmp / "coverage_curve.png")
            return done

        # the PNGs are drawn beside this thread (a forked process where that is safe, else a
        # thread: siting.io.background) while this one writes the page, the workbook and the
        # GeoPackage
        with contextlib.ExitStack() as stack:
            drawn = stack.enter_context(background.start(pictures)) if out.map_png else None
            if out.map:
                paths["map"] = maps.write_map(res, proposed, tmp / "map.html")
            if out.report_xlsx:
                paths["report"] = write_xlsx(res, tmp / "report.xlsx")
            layers = spatial_layers(res)
            if out.gpkg:
                paths["gpkg"] = write_gpkg(tmp / "results.gpkg", layers)
            if out.shapefile:
                paths["shapefile"] = write_shapefiles(tmp / "shapefile", layers)
            if drawn is not None:
                paths |= drawn.result()
    return {key: out_dir / path.relative_to(tmp) for key, path in paths.items()}


def spatial_layers(res: RunResult) -> dict[str, gpd.GeoDataFrame]:
    """The run's map data as layers in WGS-84, attributes from the same tables as the CSVs."""
    tabs = tables(res)
    comm = (
        res.inputs.communities[["geometry"]]
        .join(tabs["coverage_by_community"].set_index("code"), how="inner")
        .reset_index(names="code")
    )
    units = (
        res.inputs.streets[["geometry"]]
        .join(tabs["coverage_by_unit"].set_index("code"), how="inner")
        .reset_index(names="code")
    )
    proposed = tabs["proposed_sites"]
    sites = gpd.GeoDataFrame(
        proposed, geometry=gpd.points_from_xy(proposed["lon"], proposed["lat"]), crs=4326
    )
    facilities = res.inputs.facilities.reset_index(drop=True)
    uncovered = res.demand[~res.demand["covered_after"]].to_crs(4326)[
        ["community", "node", "weight", "radius_m", "geometry"]
    ]
    areas = res.service_areas.to_crs(4326).reset_index(drop=True)
    return {
        "communities": gpd.GeoDataFrame(comm, crs=4326),
        "units": gpd.GeoDataFrame(units, crs=4326),
        "facilities": facilities,
        "proposed_sites": sites,
        "service_areas": areas,
        "uncovered_demand": uncovered,
    }


HEADERS = {
    "code": "代码",
    "name": "名称",
    "street_code": "街道/乡镇代码",
    "kind": "类型",
    "elderly": "60岁以上老人",
    "radius_m": "服务半径(米)",
    "covered_before": "规划前覆盖(人)",
    "covered_after": "规划后覆盖(人)",
    "share_before": "规划前覆盖率",
    "share_after": "规划后覆盖率",
    "nearest_before_m": "至最近设施步行距离(米)",
    "status_after": "规划后状态",
    "access_2sfca_before": "规划前可及性(两步移动搜索法)",
    "access_2sfca_after": "规划后可及性(两步移动搜索法)",
    "communities": "社区/村数",
    "communities_uncovered_after": "规划后未覆盖社区/村数",
    "build_order": "建设顺序",
    "id": "编号",
    "lon": "经度",
    "lat": "纬度",
    "newly_covered": "新增覆盖老人",
    "land_area_m2": "用地面积(m²)",
    "communities_newly_covered": "新覆盖的社区/村",
    "unit": "单元",
    "unit_name": "单元名称",
    "level": "层级",
    "rule": "规则",
    "title": "规则内容",
    "stage": "阶段",
    "required": "要求",
    "actual": "现值",
    "shortfall": "差额",
    "pass": "是否达标",
    "measure": "单位",
    "source": "依据",
    "confidence": "可信度",
    "note": "说明",
    "residents": "常住人口",
    "per_capita_m2": "人均用地标准(m²)",
    "required_m2": "应配用地(m²)",
    "provided_m2": "现有用地(m²)",
    "facilities_without_land": "缺少用地数据的设施数",
    "shortfall_m2": "现状缺口(m²)",
    "proposed_m2": "新建站点用地(m²)",
    "closed_m2": "规划关闭设施用地(m²)",
    "shortfall_after_m2": "规划后缺口(m²)",
}
SHEETS = (
    ("coverage_by_unit", "街道乡镇覆盖"),
    ("coverage_by_community", "社区村覆盖"),
    ("proposed_sites", "建议新建站点"),
    ("compliance", "规则达标"),
    ("land_check", "用地核查"),
)


STATUS_AFTER_ZH = {
    "covered": "全覆盖",
    "partly covered": "部分覆盖",
    "uncovered": "未覆盖",
    "no elderly": "无老人",
}


def pass_zh(value: object) -> str:
    """``pass`` as printed: 达标 / 未达标 / 无数据 (no figure to check)."""
    if value is True or value is np.True_:
        return "达标"
    if value is False or value is np.False_:
        return "未达标"
    return "无数据"


_STATUS_WHOLE = {
    "Optimal": "已证明最优",
    "Heuristic": "启发式（未证明最优）",
    "Time limit reached": "达到时间限制",
    "Iteration limit reached": "达到迭代限制",
    "Solution limit reached": "达到解数限制",
    "Memory limit reached": "达到内存限制",
    "Interrupted by user": "被用户中断",
    "Infeasible": "无可行解",
    "Unknown": "未知",
}
_STATUS_PARTS = (
    (r"Optimal \(proven by the Lagrangian bound\)", "最优（拉格朗日界证明）"),
    (r"Optimal \(proven by the LP bound\)", "最优（LP界证明）"),
    (r"Optimal \(proven by the covering bounds\)", "最优（覆盖界证明）"),
    (r"Optimal \(proven by the bounds\)", "最优（上下界证明）"),
    (
        r"Optimal \(p = 0: the existing sites are the only answer\)",
        "最优（p = 0：现有设施即唯一方案）",
    ),
    (r"Heuristic; gap certified by the LP bound", "启发式（差距由LP界证明）"),
    (r"Heuristic; gap certified by a Lagrangian bound", "启发式（差距由拉格朗日界证明）"),
    (r"^Heuristic", "启发式（未证明最优）"),
    (
        r"; search stopped by the time limit after (\d+) of (\d+) rounds",
        r"；达到时间限制，搜索完成 \1/\2 轮",
    ),
    (r"; search stopped by the time limit", "；达到时间限制，搜索提前停止"),
    (r"; bisection stopped by the time limit", "；达到时间限制，二分提前停止"),
)


def status_zh(status: str) -> str:
    """A model status (``Solution.status``) in Chinese; a status not in the table passes
    through as the model wrote it."""
    if status in _STATUS_WHOLE:
        return _STATUS_WHOLE[status]
    for pattern, text in _STATUS_PARTS:
        status = re.sub(pattern, text, status)
    return status


_SOLVER_PARTS: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    (r"^trivial$", "无需求解（无待覆盖需求）"),
    (
        r"(HiGHS [\d.]+) branch and cut \(equity floor ([\d.]+)% in every unit\)$",
        r"\1 分支切割法（每个街道/乡镇覆盖率不低于 \2%）",
    ),
    (r"^none needed: no new site to choose \(p = 0\)$", "无需求解：没有要选的新站点（p = 0）"),
    (r"(HiGHS [\d.]+) branch and cut \(warm start: (.+)\)$", r"\1 分支切割法（热启动：\2）"),
    (
        r"greedy \+ iterated swap search \((\d+) rounds, seed (\d+)\); Lagrangian bound from ",
        r"贪心 + 迭代交换搜索（\1 轮，随机种子 \2）；拉格朗日界来自 ",
    ),
    (r"subgradient \(([\d,]+) steps\)", r"次梯度法（\1 步）"),
    (r"HiGHS LP duals \((.+?)\)", lambda m: f"HiGHS 线性规划对偶（{status_zh(m.group(1))}）"),
    (
        r"greedy, then a row-weighting swap search \(([\d,]+) steps\); LP bound",
        r"贪心，再做行加权交换搜索（\1 步）；LP下界",
    ),
    (
        r"greedy, then swap search at ever fewer sites \(([\d,]+) rounds\); LP bound",
        r"贪心，再逐次减少站点做交换搜索（\1 轮）；LP下界",
    ),
    (
        r"bisection over ([\d,]+) walking distances, ([\d,]+) LSCP solves",
        r"在 \1 个步行距离上二分查找，求解 LSCP \2 次",
    ),
    (r"vertex substitution; Lagrangian bound by subgradient", "顶点替换；次梯度法拉格朗日界"),
    (
        r", assignment by LP; bound: the least of the LP relaxation, the covering bound and the "
        r"places$",
        "，线性规划分配；界取线性规划松弛、覆盖界与服务名额三者中的最小值",
    ),
    (r"capacity-aware greedy", "考虑容量的贪心"),
    (r"the MCLP's sites", "MCLP 选出的站点"),
    (r"the fast search", "快速搜索"),
    (r"（热启动：greedy）", "（热启动：贪心解）"),
    (r"the search", "启发式搜索"),
    (r"vertex substitution", "顶点替换"),
    (r" and ", " 和 "),
)


def solver_zh(solver: str) -> str:
    """How the model was solved (``Solution.solver``), in Chinese; unknown words pass through."""
    for pattern, text in _SOLVER_PARTS:
        solver = re.sub(pattern, text, solver)
    return solver


def _for_readers(frame: pd.DataFrame) -> pd.DataFrame:
    """A table's codes as a reader of the spreadsheet reads them (the CSV keeps the codes)."""
    out = frame.copy()
    if "confidence" in out:
        out["confidence"] = [CONFIDENCE_ZH.get(str(v), str(v)) for v in out["confidence"]]
    if "pass" in out:
        out["pass"] = [pass_zh(v) for v in out["pass"]]
    if "status_after" in out:
        out["status_after"] = [STATUS_AFTER_ZH.get(str(v), str(v)) for v in out["status_after"]]
    if "unit" in out:  # the land check's district row
        out["unit"] = ["合计" if str(v) == "total" else v for v in out["unit"]]
    return out


MODEL_ZH = {
    "mclp": "最大覆盖模型（MCLP）",
    "cmclp": "考虑容量的最大覆盖模型（CMCLP）",
    "lscp": "集合覆盖模型（LSCP）",
    "target": "目标覆盖率模型",
    "pmedian": "P-中值模型",
    "pcenter": "P-中心模型",
}
"""The models' names as the report says them (summary.json keeps the codes)."""

PERCENT_COLUMNS = ("share_before", "share_after")
_PERCENT_ROWS = ("规划前覆盖率", "规划后覆盖率", "容量内服务率", "最优性差距")


def _summary_rows(s: dict[str, Any], age_label: str) -> pd.DataFrame:
    rows = [
        ("情景", s["scenario"]),
        ("说明", s["description"]),
        ("步行速度 (m/s)", s["walk_speed_mps"]),
        ("步行速度依据", speed_source_zh(s.get("walk_speed_preset"), s["walk_speed_mps"])),
        ("一刻钟服务半径 (m)", s["urban_radius_m"]),
        ("一公里服务半径 (m)", s["rural_radius_m"]),
        ("老年人口口径", age_label),
        (f"{age_label}老人", s["elderly_total"]),
        ("规划前覆盖 (人)", s["covered_before"]["elderly"]),
        ("规划前覆盖率", s["covered_before"]["share"]),
        ("规划后覆盖 (人)", s["covered_after"]["elderly"]),
        ("规划后覆盖率", s["covered_after"]["share"]),
        *(
            [
                ("其中容量内服务 (人)", s["served"]["elderly"]),
                ("容量内服务率", s["served"]["share"]),
                ("服务圈内但超出容量 (人)", s["over_capacity"]["elderly"]),
            ]
            if "served" in s
            else []
        ),
        ("任何候选点均无法覆盖 (人)", s["uncoverable"]["elderly"]),
        ("新建站点数", len(s["new_sites"])),
        (
            "模型",
            "无：会议方案，站点由情景的 plan 指定"
            if s["model"]["status"] == PLAN_STATUS
            else MODEL_ZH.get(s["model"]["name"], s["model"]["name"]),
        ),
        ("模型状态", status_zh(s["model"]["status"])),
        ("最优性差距", s["model"]["gap"]),
        ("求解器", solver_zh(s["model"]["solver"])),
        ("规则集", s["rules"]["set"]),
        ("规则检查项", s["compliance_checks"]),
        ("未达标项", s["compliance_failures"]),
        ("无数据项", s["compliance_no_data"]),
        ("分析坐标系", s["analysis_crs"]),
    ]
    return pd.DataFrame(rows, columns=["项目", "数值"])


def _notes_sheet(res: RunResult) -> pd.DataFrame:
    """The run's recorded warnings, one row each, in Chinese (``message_zh``; the English
    ``message`` stays in summary.json); an empty sheet says there were none."""
    return pd.DataFrame(
        [{"代码": n.code, "说明": n.text, "涉及编号": "、".join(n.ids)} for n in res.warnings]
        or [{"代码": "", "说明": "本次运行无警告", "涉及编号": ""}]
    )


def write_xlsx(res: RunResult, path: Path) -> Path:
    """``report.xlsx``: a summary sheet and one sheet per table, with Chinese headers.

    A name beginning with ``= + - @`` is a text cell showing exactly the name, never a formula
    (:func:`siting._text.text_cells`).
    """
    tabs = tables(res)
    s = summary(res, tabs)

    def fill(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            rows = _summary_rows(s, res.inputs.age_label)
            rows.to_excel(xl, sheet_name="概要", index=False)
            for k, label in enumerate(rows["项目"], start=2):  # row 1 holds the headers
                if label in _PERCENT_ROWS:
                    xl.book["概要"].cell(row=k, column=2).number_format = "0.0%"
            headers = {**HEADERS, "elderly": f"{res.inputs.age_label}老人"}
            for key, sheet in SHEETS:
                frame = _for_readers(tabs[key])
                frame.rename(columns=headers).to_excel(xl, sheet_name=sheet, index=False)
                for j, column in enumerate(frame.columns, start=1):
                    if column in PERCENT_COLUMNS:
                        for (cell,) in xl.book[sheet].iter_rows(min_row=2, min_col=j, max_col=j):
                            cell.number_format = "0.0%"
            if res.equity is not None:
                _equity_sheet(xl, s, res.equity, tabs["coverage_by_unit"])
            _notes_sheet(res).to_excel(xl, sheet_name="注意事项", index=False)
            text_cells(xl.book)
            for ws in xl.book.worksheets:
                for col in ws.columns:
                    width = max(len(str(c.value or "")) for c in list(col)[:200])
                    ws.column_dimensions[col[0].column_letter].width = min(max(8, width + 2), 60)
                ws.freeze_panes = "A2"

    return write_workbook(path, fill)


def write_curve_png(res: RunResult, path: Path) -> Path:
    """``coverage_curve.png`` beside ``map.png``: coverage against walking minutes and the
    Lorenz curves across 街道/乡镇 (:func:`siting.equity.curve_figure`)."""
    assert res.equity is not None
    tabs = tables(res)
    figures = equity.unit_figures(
        tabs["coverage_by_community"], tabs["coverage_by_unit"], res.equity
    )
    with mapimage.drawing():
        fig = equity.curve_figure(res.equity, tabs["coverage_by_unit"], figures)
        return write_with(
            path,
            lambda tmp: fig.savefig(
                tmp, format="png", facecolor="white", metadata={"Software": None}
            ),
        )


def _source_zh(source: str) -> str:
    """Where a site's capacity came from (:attr:`siting.equity.Supply.source`), in Chinese."""
    if source.startswith("rule:"):
        return "规则最低值"
    return {
        "data": "设施数据",
        "candidates": "候选点数据",
        "median": "同类现有设施中位数",
        "one": "每处计 1",
    }.get(source, source)


_DECAY_ZH = {"step": "不衰减（服务圈内同权）", "gaussian": "高斯衰减（至服务圈边缘为 0）"}


def _gini_cell(value: float | None) -> float | str:
    """A Gini in the sheet: the number, or why there is none."""
    return value if value is not None else equity.gini_zh(None)


def _equity_sheet(
    xl: pd.ExcelWriter, s: dict[str, Any], eq: equity.Equity, units: pd.DataFrame
) -> None:
    """Sheet 公平性分析: Gini figures, worst-served units, the coverage curve and the Lorenz
    curves as tables, each curve also as an Excel chart."""
    from openpyxl.chart import Reference, ScatterChart, Series

    e = s["equity"]
    what, unit = equity.capacity_zh(eq.supply.column)
    rows: list[list[Any]] = [
        ["项目", "数值"],
        ["分析单元", "街道/乡镇（老人数加权）"],
        ["规划前覆盖率基尼系数", _gini_cell(e["gini_before"])],
        ["规划后覆盖率基尼系数", _gini_cell(e["gini_after"])],
        ["规划前可及性基尼系数", _gini_cell(e.get("access_gini_before"))],
        ["规划后可及性基尼系数", _gini_cell(e.get("access_gini_after"))],
        ["可及性方法", f"两步移动搜索法（2SFCA），{_DECAY_ZH[eq.decay]}，服务圈即搜索半径"],
        ["供给口径", f"{what}（{unit}，列 {eq.supply.column}），每千名老人"],
        [
            "供给数据来源（站点数）",
            "、".join(
                f"{_source_zh(k)} {v} 处" for k, v in e.get("access_capacity_sources", {}).items()
            ),
        ],
    ]
    floor_at = len(rows) + 1
    if eq.floor is not None:
        rows.append(["每个街道/乡镇最低覆盖率要求", eq.floor])
        rows.append(
            ["规划后仍低于要求的街道/乡镇", "、".join(e["units_below_floor_after"]) or "无"]
        )
    rows += [
        [],
        ["覆盖率最低的街道/乡镇"],
        ["代码", "名称", "老人", "规划前覆盖率", "规划后覆盖率", "规划后未覆盖(人)"],
    ]
    worst_at = len(rows) + 1
    rows += [
        [
            u["code"],
            u["name"],
            u["elderly"],
            u["share_before"],
            u["share_after"],
            u["uncovered_after"],
        ]
        for u in e["worst_units"]
    ]
    curve_at = len(rows) + 4  # first data row: after a blank row, the title and the header
    rows += [
        [],
        [f"步行时间覆盖曲线（{equity.CURVE_BASIS_ZH}）"],
        ["步行时间(分钟)", "步行距离(米)", "规划前比例", "规划后比例", "情景阈值"],
    ]
    for r in s["coverage_curve"]:
        rows.append([r["minutes"], r["metres"], r["share_before"], r["share_after"], None])
    marks = len(rows) + 1
    rows += [
        [eq.threshold_minutes, None, None, None, 0.0],
        [eq.threshold_minutes, None, None, None, 1.0],
    ]
    w = units["elderly"].to_numpy(dtype=float)
    lorenz_at = len(rows) + 4
    lz = {
        k: equity.lorenz(units[f"share_{k}"].to_numpy(dtype=float), w) for k in ("before", "after")
    }
    rows += [
        [],
        ["洛伦兹曲线（街道/乡镇按覆盖率由低到高）"],
        [
            "规划前累计老人比例",
            "规划前累计覆盖比例",
            "规划后累计老人比例",
            "规划后累计覆盖比例",
            "绝对公平线",
        ],
    ]
    for (pb, cb), (pa, ca) in zip(lz["before"].to_numpy(), lz["after"].to_numpy(), strict=True):
        rows.append([round(float(v), 4) for v in (pb, cb, pa, ca, pb)])
    ws = xl.book.create_sheet("公平性分析")
    for row in rows:
        ws.append(row)
    percent: list[tuple[int, int, tuple[int, ...]]] = [
        (worst_at, worst_at + len(e["worst_units"]), (4, 5))
    ]
    percent += [(curve_at, marks + 2, (3, 4, 5)), (lorenz_at, len(rows) + 1, (1, 2, 3, 4, 5))]
    if eq.floor is not None:
        percent.append((floor_at, floor_at + 1, (2,)))
    for first, stop, columns in percent:
        for r in range(first, stop):
            for c in columns:
                ws.cell(row=r, column=c).number_format = "0.0%"
    n_curve = len(s["coverage_curve"])

    def scatter(title: str, x_title: str, y_title: str) -> ScatterChart:
        chart = ScatterChart()
        chart.title, chart.style, chart.height, chart.width = title, 13, 8, 14
        chart.x_axis.title, chart.y_axis.title = x_title, y_title
        chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 hides axes otherwise
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0.0, 1.0
        chart.y_axis.number_format = "0%"
        return chart

    chart = scatter("覆盖率随步行时间变化", "步行时间（分钟）", "老人比例")
    x = Reference(ws, min_col=1, min_row=curve_at, max_row=curve_at + n_curve - 1)
    for col in (3, 4):
        y = Reference(ws, min_col=col, min_row=curve_at - 1, max_row=curve_at + n_curve - 1)
        chart.series.append(Series(y, x, title_from_data=True))
    mark = Series(
        Reference(ws, min_col=5, min_row=marks, max_row=marks + 1),
        Reference(ws, min_col=1, min_row=marks, max_row=marks + 1),
        title=f"情景阈值 {eq.threshold_minutes:g} 分钟",
    )
    chart.series.append(mark)
    _straight(chart)
    ws.add_chart(chart, "H2")
    chart = scatter("街道/乡镇覆盖率洛伦兹曲线", "累计老人比例", "累计覆盖比例")
    chart.x_axis.scaling.min, chart.x_axis.scaling.max = 0.0, 1.0
    chart.x_axis.number_format = "0%"
    n_lz = len(lz["before"])
    for xc, yc in ((1, 2), (3, 4), (1, 5)):
        chart.series.append(
            Series(
                Reference(ws, min_col=yc, min_row=lorenz_at - 1, max_row=lorenz_at + n_lz - 1),
                Reference(ws, min_col=xc, min_row=lorenz_at, max_row=lorenz_at + n_lz - 1),
                title_from_data=True,
            )
        )
    _straight(chart)
    ws.add_chart(chart, "H20")


def _straight(chart: Any) -> None:
    """Straight segments between the computed points, each point marked (no smoothing that
    would draw values nobody computed)."""
    for series in chart.series:
        series.smooth = False
        series.marker.symbol = "circle"
