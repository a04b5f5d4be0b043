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
from siting._record import warn
from siting._validate import preview
from siting.models import Solution, build_order

if TYPE_CHECKING:
    from siting.problem import Problem
    from siting.scenario import Plan

PLAN_STATUS = "会议方案（指定站点，未经模型优化）"
"""``Solution.status`` of a given plan (Chinese: it is shown as it is in every document)."""
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
    closed = sites["id"].astype(str).isin(plan.closed).to_numpy()
    return sites.assign(role=np.where(closed, "excluded", sites["role"].to_numpy()))


def plan_solution(problem: Problem, plan: Plan) -> Solution:
    """The plan's answer: ``plan.open`` opened besides the (remaining) existing sites, in
    build order with marginal gains; objective = elderly covered (as ``mclp``), bound = the
    same, gap 0, status :data:`PLAN_STATUS`."""
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
        )
    if plan.covered_elderly is not None and abs(covered - plan.covered_elderly) > FIGURE_TOLERANCE:
        warn(
            "plan_figure_differs",
            f"the plan covers {covered:,.1f} elderly in this run, but {plan.covered_elderly:,.1f} "
            "when it was saved: the inputs (population, streets, facilities, circles) differ "
            "from the run the map was made from",
            plan.open,
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
