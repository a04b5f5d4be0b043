"""What a run computed, as data: :class:`RunData`, the frozen record every writer reads.

It sits above the analysis and below the writers, so that a writer (the tables, the web map,
the live plan, the picture, the comparison) types against the result without importing the
pipeline that makes it. :class:`siting.pipeline.RunResult` is this record with the three
verbs a script wants (``.tables``, ``.summary``, ``.write``), which call the writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

if TYPE_CHECKING:
    from siting._record import Note
    from siting.analysis.access import Equity
    from siting.analysis.coverage import Summary
    from siting.inputs.load import Inputs
    from siting.models import Solution
    from siting.problem.build import Problem
    from siting.rules.book import RuleBook
    from siting.rules.checks import ComplianceData
    from siting.scenario import Scenario


@dataclass(frozen=True)
class RunData:
    """Everything a run computed, in the analysis CRS, ready for reports and maps."""

    scenario: Scenario
    crs: str
    inputs: Inputs
    problem: Problem  # demand points, site table, cost matrix: the seam
    solution: Solution  # the model's answer
    coverage: Summary  # who the plan covers, per demand point and per new site
    demand: gpd.GeoDataFrame  # demand points with weight, radius_m, covered_before/after
    communities: pd.DataFrame  # coverage per 社区/村
    units: pd.DataFrame  # coverage per 街道/乡镇
    land: pd.DataFrame
    rules: RuleBook
    compliance: pd.DataFrame  # siting.rules.checks.COLUMNS
    compliance_data: ComplianceData  # re-check under another set: check_all(book, this)
    proposed: gpd.GeoDataFrame  # selected candidates in build order, WGS-84
    service_areas: gpd.GeoDataFrame  # per open circle facility (role, tier), analysis CRS
    timings_s: dict[str, float] = field(default_factory=dict)
    warnings: tuple[Note, ...] = ()  # every recorded warning of the run, in order
    equity: Equity | None = None  # 2SFCA per demand point, coverage against minutes
