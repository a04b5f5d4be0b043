"""The live plan of the review-meeting map: the run's coverage sets in the page, recomputed there.

``map.html`` carries, compactly, which demand points (their elderly and 社区/村) each site
reaches within the circle that applies to the point (:attr:`siting.problem.Problem.cover`),
for the existing circle facilities, the proposed sites and the best of the other candidates
(all of them up to :data:`MAX_CANDIDATES`; beyond that the proposed ones and those adding
the most elderly to the existing facilities' coverage, and the page says so). The page's
script (``static/liveplan.js`` beside this module, fixed, no data in it) switches sites on and off,
recolours the 社区/村, resizes the circles of elderly left outside, and shows the figures before,
with the run's plan and with the current plan, per 街道/乡镇, the current plan's sites in
build order and the best next site. Covered means the same as in Python: a demand point within
its own circle of at least one open site (capacity is not counted, as in the coverage tables).

The current plan is saved from the page as a scenario file with a ``plan:`` section
(:mod:`siting.pipeline.plan`): the run's scenario with every path absolute and the plan's ``open``,
``closed`` and ``covered_elderly``; ``siting run`` on it reproduces the page's figure.

Encoding: each site's demand rows (indices into the embedded demand points, ascending) are
delta-encoded as unsigned LEB128 varints, in base64; the demand weights are little-endian
float64 and their 社区/村 indices little-endian uint32, both in base64. Every text from the data
is HTML-escaped (:func:`siting._text.html_text`) and the whole travels as one JSON literal
(:func:`siting._text.script_json`); site ids travel as they are as well (the page's API and the
saved plan use them; the page shows only their escaped copy).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import yaml
from branca.element import MacroElement
from jinja2 import Template
from numpy.typing import ArrayLike, NDArray

from siting._text import html_text, script_json
from siting.outputs.style import (
    UNCOVERED_MAX_RADIUS,
)
from siting.results import RunData

if TYPE_CHECKING:
    from siting.results import RunData
    from siting.scenario import Scenario

MAX_CANDIDATES = 300
"""Candidates the page carries at most (the proposed ones always among them)."""


def script() -> str:
    """The page's fixed script (package data ``siting/static/liveplan.js``)."""
    return (
        resources.files("siting.outputs.webmap")
        .joinpath("static/liveplan.js")
        .read_text(encoding="utf-8")
    )


def varints(rows: ArrayLike) -> str:
    """Ascending non-negative integers as base64 of their delta-encoded LEB128 varints."""
    values = np.asarray(rows, dtype=np.int64)
    deltas = np.diff(values, prepend=0)
    if len(deltas) and (deltas < 0).any():
        raise ValueError("varints needs ascending non-negative integers")
    out = bytearray()
    for d in deltas.tolist():
        while d >= 0x80:
            out.append((d & 0x7F) | 0x80)
            d >>= 7
        out.append(d)
    return base64.b64encode(bytes(out)).decode("ascii")


def from_varints(text: str) -> NDArray[np.int64]:
    """The inverse of :func:`varints` (what the page's script does), for tests."""
    values: list[int] = []
    shift = acc = last = 0
    for byte in base64.b64decode(text):
        acc |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        last += acc
        values.append(last)
        shift = acc = 0
    return np.array(values, dtype=np.int64)


def _b64(array: NDArray[Any], dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def shown_columns(res: RunData, limit: int = MAX_CANDIDATES) -> tuple[NDArray[np.int64], int]:
    """The problem columns the page carries, ascending: every existing circle facility (those
    a saved plan closed too), the proposed sites, and the other candidates by the elderly each
    adds to the existing facilities' coverage, up to ``limit`` candidates in all. Also returns
    how many candidates the run had."""
    problem = res.problem
    facilities = set(map(str, res.inputs.facilities.index))
    ids = np.array(problem.site_ids, dtype=object)
    role = problem.sites["role"].to_numpy()
    existing = np.flatnonzero(
        (role == "existing") | ((role == "excluded") & np.isin(ids, list(facilities)))
    )
    candidates = problem.columns("candidate")
    chosen = problem.column_of(res.solution.selected)
    others = np.setdiff1d(candidates, chosen)
    room = max(limit - len(chosen), 0)
    if len(others) > room:
        csc = problem.cover.tocsc()
        before = res.coverage.covered_before
        w = problem.weights
        gain = np.array(
            [
                w[rows[~before[rows]]].sum()
                for c in others
                for rows in [csc.indices[csc.indptr[c] : csc.indptr[c + 1]]]
            ]
        )
        best = np.lexsort((others, -gain))[:room]  # most elderly first, then column order
        others = others[best]
    columns = np.unique(np.r_[existing, chosen, others]).astype(np.int64)
    return columns, len(candidates)


def plan_data(res: RunData, *, limit: int = MAX_CANDIDATES) -> dict[str, Any]:
    """Everything the page's script needs, JSON-able (texts already HTML-escaped)."""
    problem, cov = res.problem, res.coverage
    columns, n_candidates = shown_columns(res, limit)
    csc = problem.cover.tocsc()
    reach = [csc.indices[csc.indptr[c] : csc.indptr[c + 1]] for c in columns]
    rows = np.unique(np.concatenate(reach)) if reach else np.zeros(0, dtype=np.int64)
    local = np.full(len(problem.demand), -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    # 社区/村 in the order of the coverage table; every demand point's index into it
    table = res.communities.reset_index(drop=True)
    codes = table["code"].astype(str).tolist()
    where = {c: k for k, c in enumerate(codes)}
    community = np.array([where[str(c)] for c in problem.demand["community"]], dtype=np.int64)
    w = problem.weights
    units = res.units.reset_index(drop=True)
    unit_of = {str(c): k for k, c in enumerate(units["code"])}
    role = problem.sites["role"].to_numpy()
    selected = set(res.solution.selected)
    sites = problem.sites.take(columns)
    ids = [str(s) for s in sites["id"]]
    per_demand = np.bincount(community, weights=w, minlength=len(codes))
    return {
        "version": 1,
        "age": res.inputs.age_label,
        "total": float(w.sum()),
        "figures": {
            "before": cov.elderly(cov.covered_before),
            "run": cov.elderly(cov.covered_after),
        },
        "sites": {
            "id": ids,
            "label": [html_text(s) for s in ids],
            "name": [html_text(n) for n in sites["name"]],
            "kind": ["existing" if role[c] != "candidate" else "candidate" for c in columns],
            "before": [int(role[c] == "existing") for c in columns],
            "run": [
                int(role[c] == "existing" or s in selected)
                for c, s in zip(columns, ids, strict=True)
            ],
            "cover": [varints(local[r]) for r in reach],
        },
        "demand": {
            "weight": _b64(w[rows], "<f8"),
            "community": _b64(community[rows], "<u4"),
        },
        "communities": {
            "label": [
                html_text(f"{n}（{k}）") for n, k in zip(table["name"], table["kind"], strict=True)
            ],
            "unit": [unit_of.get(str(s), -1) for s in table["street_code"]],
            "elderly": [float(e) for e in table["elderly"]],
            "weight": [float(x) for x in per_demand],  # the demand points' elderly, all of them
            "radius": [float(r) if np.isfinite(r) else 0.0 for r in table["radius_m"]],
        },
        "units": {
            "label": [html_text(n) for n in units["name"]],
            "elderly": [float(e) for e in units["elderly"]],
        },
        "candidates": {
            "total": n_candidates,
            "shown": int(sum(role[c] == "candidate" for c in columns)),
            "limit": limit,
        },
        "capacity": res.solution.capacity is not None,
        "scenario": html_text(res.scenario.name),
        "file": f"{res.scenario.name}_会议方案.yaml",
        "yaml": scenario_yaml(res.scenario),
    }


def scenario_yaml(sc: Scenario) -> str:
    """The scenario as a self-contained file (``base:`` chains merged, every path absolute, the
    name ``<name>_会议方案``) without its plan: the page appends the ``plan:`` section."""
    data = sc.model_dump(mode="json", exclude_defaults=True)
    data.pop("plan", None)
    coverage = data.get("coverage", {})
    if sc.coverage.walk_speed is not None:  # the preset stands for the number
        coverage.pop("walk_speed_mps", None)
    data["name"] = sc.name if sc.name.endswith("_会议方案") else f"{sc.name}_会议方案"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


Shift = Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]


@dataclass
class Live:
    """What the live plan (:mod:`siting.outputs.webmap.liveplan`) needs from the layers as they are
    built: the indices features carry (site ids and 社区/村 codes to indices into its data) and the
    JavaScript names of the layers it redraws (folium's generated identifiers, never data)."""

    data: dict[str, Any]
    site: dict[str, int] = field(init=False)
    community: dict[str, int] = field(init=False)
    communities: str | None = None
    uncovered: str | None = None
    sites: list[str] = field(default_factory=list)
    largest: float = 1.0

    def __post_init__(self) -> None:
        self.site = {s: k for k, s in enumerate(self.data["sites"]["id"])}
        self.community = {str(c): k for k, c in enumerate(self.data["communities"]["code"])}


class LivePlan(MacroElement):
    """The live plan's call: ``window.sitingPlan`` made by the page's fixed script from the
    data (one JSON literal, :func:`siting._text.script_json`) and the layers' names."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.sitingPlan = window.sitingLivePlan({{ this.map }}, {{ this.data }}, {
            communities: {{ this.communities }},
            uncovered: {{ this.uncovered }},
            sites: [{{ this.sites }}]
        });
        {% endmacro %}
    """)

    def __init__(self, fmap: folium.Map, live: Live) -> None:
        super().__init__()
        self._name = "SitingLivePlan"
        self.map = fmap.get_name()
        data = dict(live.data)
        data["communities"] = {k: v for k, v in data["communities"].items() if k != "code"}
        data["uncovered"] = {"largest": live.largest, "max_radius": UNCOVERED_MAX_RADIUS}
        self.data = script_json(data)
        self.communities = live.communities or "null"
        self.uncovered = live.uncovered or "null"
        self.sites = ", ".join(live.sites)
