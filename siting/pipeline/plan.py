"""A plan decided elsewhere (a review meeting, on the live map): the scenario's ``plan:`` section.

``plan.open`` names the candidates to open, ``plan.closed`` existing circle facilities that
close; no model is solved. The run is otherwise an ordinary run: its coverage, tables, map and
rules are those of the plan. :func:`plan_roles` closes the facilities in the site table (role
``excluded``: they form no circle, before or after); :func:`plan_solution` is the
:class:`~siting.models.Solution` of the plan, its sites in build order with their marginal
gains, exactly as a model's answer would list them. ``plan.covered_elderly``, the figure the
map showed when the plan was saved, is checked: a rerun that differs (inputs changed since)
is a recorded warning naming both figures. Closing facilities is one too: the run's figures
before the plan count without them, and the warning gives today's figure with them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siting._errors import ModelError
from siting._messages import preview
from siting._record import warn
from siting.models import PLAN_STATUS, Solution, build_order

if TYPE_CHECKING:
    from siting.problem.build import Problem
    from siting.scenario import Model, Plan

PLAN_SOLVER = "无：站点由情景的 plan 指定"
FIGURE_TOLERANCE = 0.05
"""Elderly: a rerun's covered figure may differ from the saved one by float rounding only."""


def _repeated(ids: tuple[str, ...]) -> list[str]:
    return sorted({i for i in ids if ids.count(i) > 1})


def plan_roles(sites: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The site table with ``plan.closed`` (existing circle facilities) given role
    ``excluded``; an id that is no existing circle facility is an error naming it."""
    existing = set(sites.loc[sites["role"] == "existing", "id"].astype(str))
    twice = _repeated(plan.closed)
    if twice:
        raise ModelError(f"`plan.closed` names sites more than once: {preview(twice)}")
    unknown = [i for i in plan.closed if i not in existing]
    if unknown:
        raise ModelError(
            f"`plan.closed` names {len(unknown)} id(s) that are not existing circle facilities "
            f"of this scenario: {preview(unknown)}; list facility ids whose type forms circles "
            "(`coverage.facility_types`), or remove them"
        )
    _check_names(sites, plan)
    closed = sites["id"].astype(str).isin(plan.closed).to_numpy()
    return sites.assign(role=np.where(closed, "excluded", sites["role"].to_numpy()))


def _check_names(sites: pd.DataFrame, plan: Plan) -> None:
    """Each id the plan saved a name for still names that site; else the files changed under
    the plan (a facility numbered by row order now another one) and the run stops."""
    if not plan.names or "name" not in sites:
        return
    now = dict(zip(sites["id"].astype(str), sites["name"].astype(str), strict=True))

    def same(a: str, b: str) -> bool:  # the page's text of a name may differ in white space
        return " ".join(a.split()) == " ".join(b.split())

    moved = [
        (i, saved, now[i])
        for i, saved in plan.names.items()
        if i in now and not same(now[i], saved) and (i in plan.open or i in plan.closed)
    ]
    if moved:
        raise ModelError(
            f"the plan names {len(moved)} site(s) that now carry another name: "
            + "; ".join(f"{i!r} was {a!r} when saved, now {b!r}" for i, a, b in moved[:10])
            + ("..." if len(moved) > 10 else "")
            + ". The facilities or candidates file changed since the map was made (ids numbered "
            "from the row order shift when a row is removed); give the files an id column, "
            "rerun the scenario and decide the plan again on the new map"
        )


def not_applied(model: Model, opened: int | None = None) -> list[str]:
    """The scenario's model settings a given plan does not apply (no model is solved);
    ``opened``: the plan's new sites, checked against ``p``."""
    out = []
    if model.p is not None and opened is not None and opened > model.p:
        out.append(f"p {model.p} (the plan opens {opened})")
    if model.budget is not None:
        out.append(f"budget {model.budget:,.0f}")
    if model.equity_floor is not None:
        out.append(f"equity_floor {model.equity_floor:g}")
    if model.name != "mclp":
        out.append(f"model {model.name}")
    return out


def plan_solution(problem: Problem, plan: Plan, model: Model | None = None) -> Solution:
    """The plan's answer: ``plan.open`` opened besides the (remaining) existing sites, in
    build order with marginal gains; objective = elderly covered (as ``mclp``), bound = the
    same, gap 0, status :data:`PLAN_STATUS`. ``model``: the scenario's model settings; those the
    plan does not apply (a budget, an equity floor, another model) are a recorded warning."""
    start = time.perf_counter()
    twice = _repeated(plan.open)
    if twice:
        raise ModelError(f"`plan.open` names sites more than once: {preview(twice)}")
    roles = dict(zip(problem.site_ids, problem.sites["role"].astype(str), strict=True))
    unknown = [i for i in plan.open if i not in roles]
    not_candidates = [i for i in plan.open if roles.get(i, "candidate") != "candidate"]
    if unknown or not_candidates:
        parts = []
        if unknown:
            parts.append(f"{len(unknown)} id(s) that are not candidates: {preview(unknown)}")
        if not_candidates:
            parts.append(
                f"{len(not_candidates)} id(s) that are existing facilities or excluded "
                f"candidates (`model.excluded`, `model.min_land_area_m2`): "
                f"{preview(not_candidates)}"
            )
        raise ModelError(
            "`plan.open` names " + "; ".join(parts) + "; list candidate ids the scenario may open"
        )
    columns = problem.column_of(plan.open)
    existing = problem.columns("existing")
    fixed = np.zeros(problem.cover.shape[1], dtype=bool)
    fixed[existing] = True
    w = problem.weights
    gains = build_order(problem.cover, w, fixed, columns, problem.site_ids)
    baseline = float(w[problem.covered(existing)].sum())
    covered = float(w[problem.covered(np.r_[existing, columns])].sum())
    unreachable = problem.uncoverable()
    if plan.closed:
        today = float(w[problem.covered(np.r_[existing, problem.column_of(plan.closed)])].sum())
        warn(
            "plan_closes_facilities",
            f"the plan closes {len(plan.closed)} existing circle facilities: this run's "
            f"figures before the plan count without them ({baseline:,.1f} elderly covered; "
            f"with them, as today, {today:,.1f})",
            plan.closed,
            zh=f"规划关闭 {len(plan.closed)} 个现有服务圈设施：本次运行“规划前”的数字不计这些设施"
            f"（覆盖老人 {baseline:,.1f} 人；计入它们，即现状，为 {today:,.1f} 人）",
        )
    skipped = not_applied(model, len(plan.open)) if model is not None else []
    if skipped:
        cost = float(problem.sites["cost"].take(columns).sum()) if "cost" in problem.sites else 0.0
        spent = (
            f"; the plan's new sites cost {cost:,.0f}"
            if any(s.startswith("budget") for s in skipped)
            else ""
        )
        warn(
            "plan_model_not_applied",
            "the plan is taken as it is, no model is solved: the scenario's "
            + ", ".join(skipped)
            + f" {'is' if len(skipped) == 1 else 'are'} not applied{spent}; check the plan "
            "against them, or rerun without `plan:` for the model's answer",
            plan.open,
            zh="规划按原样采用，未求解模型：情景中的 "
            + "、".join(skipped)
            + " 未被应用"
            + (f"；规划新建站点的成本合计 {cost:,.0f}" if spent else "")
            + "；请据此核对规划，或去掉 plan: 重新运行以得到模型的方案",
        )
    if plan.covered_elderly is not None and abs(covered - plan.covered_elderly) > FIGURE_TOLERANCE:
        warn(
            "plan_figure_differs",
            f"the plan covers {covered:,.1f} elderly in this run, but {plan.covered_elderly:,.1f} "
            "when it was saved: the inputs (population, streets, facilities, circles) differ "
            "from the run the map was made from",
            plan.open,
            zh=f"该规划在本次运行中覆盖老人 {covered:,.1f} 人，保存时为 "
            f"{plan.covered_elderly:,.1f} 人："
            + "输入数据（人口、街道、设施、服务圈）与生成该地图的运行不同",
        )
    return Solution(
        model="mclp",
        gains=tuple(gains),
        objective=covered,
        covered=covered,
        baseline=baseline,
        bound=covered,
        gap=0.0,
        status=PLAN_STATUS,
        solver=PLAN_SOLVER,
        time_s=time.perf_counter() - start,
        p=len(columns),
        uncoverable=float(w[unreachable].sum()),
        uncoverable_rows=tuple(np.flatnonzero(unreachable).tolist()),
        method="plan",
    )
