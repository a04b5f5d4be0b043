"""One set of input checks, run by ``siting check-data`` and by every ``siting run``.

Each check returns :class:`Finding` objects: ``error`` (must be fixed: ``run`` stops with the
same message ``check-data`` prints), ``warning`` (``run`` goes on and records it in
``summary.json``, the report and the map; ``check-data`` lists it) or ``ok`` (a line of the
check-data report). Two passes:

- :func:`input_checks`, on the layers as read, before any network is built: sites outside
  every 街道/乡镇 (how far), candidates without land, the scenario's columns and ids, the
  population rows the scenario leaves out;
- :func:`network_checks`, once the walking network exists: whether facilities and candidates
  fit the streets much better under another coordinate system than the one declared (an Amap
  list declared WGS-84 sits 300-700 m off in Henan).

Snap distances, sites on detached streets and demand fallbacks are recorded by the stages that
compute them (:mod:`siting.problem.demand`), which both commands run.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from siting._errors import ScenarioError
from siting._messages import preview
from siting._record import role_zh
from siting.coords import fit_by_coord_system
from siting.inputs.findings import Finding, candidates_source

if TYPE_CHECKING:
    import geopandas as gpd

    from siting.inputs.load import Inputs
    from siting.network.arrays import WalkNetwork
    from siting.scenario import Scenario


def input_checks(sc: Scenario, inp: Inputs) -> list[Finding]:
    """Every check that needs the layers but no network."""
    comm = inp.communities
    found = [
        Finding(
            "ok",
            "boundaries",
            f"{len(inp.streets)} 街道/乡镇, {len(comm)} 社区/村 "
            f"({int((comm['kind'] == '村').sum())} 村)",
        ),
        Finding(
            "ok",
            "population",
            f"{comm['elderly_60plus'].sum():,.0f} elderly ({inp.age_group}), "
            f"{comm['residents'].sum():,.0f} residents",
        ),
        *_population_join(inp),
        Finding(
            "ok",
            "facilities",
            f"{len(inp.facilities)} facilities, types: "
            + ", ".join(
                f"{t} {n}" + ("（服务圈）" if t in inp.circle_types else "（仅计用地）")
                for t, n in inp.facilities["type"].value_counts().sort_index().items()
            ),
        ),
    ]
    found += _more_elderly_than_residents(sc, inp)
    found += _outside_district(sc, inp)
    found += _candidate_land(sc, inp)
    found += _scenario_columns(sc, inp)
    ex = inp.excluded_population
    if ex is not None and len(ex):
        found.append(
            Finding(
                "warning",
                "population",
                f"{len(ex)} population row(s) left out by the scenario "
                f"({ex['elderly_60plus'].sum():,.0f} elderly): "
                + "; ".join(
                    f"{c} ({r})" for c, r in zip(ex["code"][:10], ex["reason"][:10], strict=True)
                ),
                code="population_left_out",
                ids=tuple(str(c) for c in ex["code"]),
                message_zh=f"情景设定剔除了 {len(ex)} 行人口数据（老人 "
                f"{ex['elderly_60plus'].sum():,.0f} 人）："
                + "；".join(
                    f"{c}（{_reason_zh(str(r))}）"
                    for c, r in zip(ex["code"][:10], ex["reason"][:10], strict=True)
                ),
            )
        )
    return found


def _reason_zh(reason: str) -> str:
    """Why the readers left a population row out (their English ``reason``), in Chinese."""
    if reason == "missing population figures (nan_policy: drop)":
        return "缺少人口数值（nan_policy: drop）"
    if reason == "statistics without a boundary polygon (unmatched: exclude)":
        return "有统计数据但无边界面（unmatched: exclude）"
    m = re.fullmatch(
        r"row (\d+): a name without a boundary polygon \((.*)not (in the district|in (.*)); "
        r"closest there: (.*); unmatched: exclude\)",
        reason,
    )
    if m:
        area = "辖区" if m[3] == "in the district" else m[4]
        nearest = "无" if m[5] == "none" else m[5]
        street = f"{m[2].removesuffix(', ')}，" if m[2] else ""
        return (
            f"第 {m[1]} 行：名称无对应边界面（{street}{area}内无此名称；最接近的：{nearest}；"
            "unmatched: exclude）"
        )
    return reason


def _population_join(inp: Inputs) -> list[Finding]:
    """How the population table was read: the join (matched by how, unmatched), the figures
    and age group, the total rows skipped (each also a recorded warning of the reader)."""
    report = inp.population_join
    if report is None:
        return []
    return [Finding("ok", "population", line) for line in report.lines()]


def _more_elderly_than_residents(sc: Scenario, inp: Inputs) -> list[Finding]:
    """A 社区/村 with more elderly than residents: columns mapped the wrong way round, or a
    figure in the wrong unit. Every coverage share would rest on it: an error."""
    comm = inp.communities
    bad = comm["elderly_60plus"].astype(float) > comm["residents"].astype(float)
    if not bad.any():
        return []
    rows = comm.loc[bad]
    shown = ", ".join(
        f"{c} ({e:,.0f} elderly, {r:,.0f} residents)"
        for c, e, r in zip(rows.index[:10], rows["elderly_60plus"], rows["residents"], strict=False)
    )
    return [
        _error(
            "population",
            f"{sc.inputs.population.path}: {int(bad.sum())} of {len(comm)} 社区/村 have more "
            f"elderly than residents: {shown}"
            + ("..." if len(rows) > 10 else "")
            + ". Check `inputs.population.columns`: are `elderly_60plus` and `residents` "
            "mapped to the right columns, in persons?",
        )
    ]


def _outside_district(sc: Scenario, inp: Inputs) -> list[Finding]:
    """Facilities and candidates standing in no 街道/乡镇, with their distance to the district."""
    from siting.coords import analysis_crs

    crs = analysis_crs(float(inp.streets.union_all().centroid.x))
    area = inp.streets.to_crs(crs).union_all()
    limit = max(sc.coverage.urban_radius_m, sc.coverage.rural_radius_m)
    found = []
    for role, frame, path in (
        ("facilities", inp.facilities, sc.inputs.facilities.path),
        ("candidates", inp.candidates, candidates_source(sc)),
    ):
        if len(frame) == 0:
            continue
        dist = frame.geometry.to_crs(crs).distance(area)
        out = dist[dist > 0]
        if out.empty:
            continue
        far = out[out > limit]
        shown = ", ".join(f"{i} ({d:,.0f} m)" for i, d in out.sort_values()[::-1][:10].items())
        found.append(
            Finding(
                "warning",
                role,
                f"{path}: {len(out)} of {len(frame)} {role} stand outside every 街道/乡镇 "
                f"(distance to the district: {shown}"
                + (f"; {len(out) - 10} more" if len(out) > 10 else "")
                + ")"
                + (
                    f"; {len(far)} lie farther than a service circle ({limit:,.0f} m): "
                    "check their coordinates and coordinate system"
                    if len(far)
                    else ""
                ),
                code="site_outside_district",
                ids=tuple(str(i) for i in out.index),
                message_zh=f"{path}：{len(frame)} 个{role_zh(role)}中 {len(out)} 个不在任何"
                f"街道/乡镇内（到辖区的距离：{shown}"
                + (f"；另有 {len(out) - 10} 个" if len(out) > 10 else "")
                + "）"
                + (
                    f"；其中 {len(far)} 个超出服务圈距离（{limit:,.0f} 米）：请检查其坐标和坐标系"
                    if len(far)
                    else ""
                ),
            )
        )
    return found


def _candidate_land(sc: Scenario, inp: Inputs) -> list[Finding]:
    if inp.candidates_have_land or len(inp.candidates) == 0:
        return []
    return [
        Finding(
            "warning",
            "candidates",
            f"{candidates_source(sc)} has no land_area_m2 column: proposed sites add no land in "
            "the land check (map the column with `columns: {land_area_m2: ...}`)",
            code="candidates_without_land",
            message_zh=(
                candidates_source(sc) if sc.inputs.candidates is not None else "生成的候选点"
            )
            + " 没有 land_area_m2 列：规划站点在用地核算中不计用地"
            "（用 `columns: {land_area_m2: ...}` 映射该列）",
        )
    ]


def _scenario_columns(sc: Scenario, inp: Inputs) -> list[Finding]:
    """Columns and ids the scenario's model names must exist, before any work is done."""
    m, found = sc.model, []
    cands = inp.candidates
    if m.cost_column is not None:
        if m.cost_column not in cands:
            found.append(
                _error(
                    "model",
                    f"{candidates_source(sc)}: `model.cost_column` {m.cost_column!r} is not a "
                    f"column (columns: {preview(list(cands.columns), 20)})",
                )
            )
        else:
            values = pd.to_numeric(cands[m.cost_column], errors="coerce")
            bad = values.isna() | (values < 0)
            if bad.any():
                found.append(
                    _error(
                        "model",
                        f"{candidates_source(sc)}: column {m.cost_column!r} needs costs >= 0; ids "
                        f"{preview(list(values.index[bad]))} have "
                        f"{preview(cands.loc[bad, m.cost_column].tolist())}",
                    )
                )
    if m.capacity_column is not None and m.capacity_column not in inp.facilities:
        found.append(
            _error(
                "model",
                f"{sc.inputs.facilities.path}: `model.capacity_column` {m.capacity_column!r} "
                f"is not a column (columns: {preview(list(inp.facilities.columns), 20)})",
            )
        )
    if sc.inputs.candidates is not None:
        unknown = sorted(set(m.excluded) - set(cands.index))
        if unknown:
            found.append(
                Finding(
                    "error",
                    "model",
                    "`model.excluded` names ids that are not candidates in "
                    f"{candidates_source(sc)}: {preview(unknown)}",
                    error=ScenarioError,
                )
            )
    if m.min_land_area_m2 is not None and not inp.candidates_have_land:
        found.append(
            Finding(
                "error",
                "model",
                error=ScenarioError,
                message="`model.min_land_area_m2` needs the candidates' land_area_m2 column, "
                f"which {candidates_source(sc)} lacks",
            )
        )
    return found


def _error(item: str, message: str) -> Finding:
    return Finding("error", item, message)


def network_checks(sc: Scenario, inp: Inputs, net: WalkNetwork) -> list[Finding]:
    """Checks against the walking network: the declared coordinate systems."""
    nodes = net.nodes().to_crs(4326)
    found = [
        Finding(
            "ok",
            "network",
            f"{net.n_nodes:,} nodes, {net.n_edges:,} edges in {net.crs}",
        )
    ]
    for role in ("facilities", "candidates"):
        found += _fit(sc, getattr(inp, role), role, nodes, net.crs)
    return found


def _fit(
    sc: Scenario, pts: gpd.GeoDataFrame, role: str, nodes: gpd.GeoDataFrame, crs: str
) -> list[Finding]:
    layer = getattr(sc.inputs, role)
    if len(pts) == 0:
        return [Finding("ok", role, "none given")]
    if layer is None:
        return [Finding("ok", role, "generated by `candidate_generation` during the run")]
    fits = fit_by_coord_system(
        pts.geometry.x,
        pts.geometry.y,
        layer.coord_system,
        nodes.geometry.x,
        nodes.geometry.y,
        crs=crs,
    )
    declared = fits[layer.coord_system if layer.coord_system in fits else "wgs84"]
    best = min(fits, key=lambda k: fits[k])
    summary = ", ".join(f"as {k}: {v:,.0f} m" for k, v in fits.items())
    # in a dense street grid a 500 m shift still lands near *some* street (the demo: 18 m as
    # declared, 42 m shifted), so the signal is the ratio, above a floor of plain noise
    if best != layer.coord_system and declared > 25 and fits[best] < 0.5 * declared:
        return [
            _error(
                role,
                f"{len(pts)} {role} declared {layer.coord_system} sit a median "
                f"{declared:,.0f} m from the nearest street, but {fits[best]:,.0f} m if they "
                f"are {best}: set `coord_system: {best}` for {layer.path} ({summary})",
            )
        ]
    if declared > sc.coverage.snap_warn_m:
        return [
            Finding(
                "warning",
                role,
                f"{layer.path}: {len(pts)} {role}, median {declared:,.0f} m from the nearest "
                f"street as declared ({layer.coord_system}); {summary}",
                code="sites_far_from_streets",
                message_zh=f"{layer.path}：{len(pts)} 个{role_zh(role)}按所声明坐标系"
                f"（{layer.coord_system}）距最近街道的中位距离为 {declared:,.0f} 米；"
                + "，".join(f"按 {k}：{v:,.0f} 米" for k, v in fits.items()),
            )
        ]
    return [
        Finding(
            "ok",
            role,
            f"{len(pts)} points, median {declared:,.0f} m from the nearest street as declared "
            f"({layer.coord_system}); {summary}",
        )
    ]
