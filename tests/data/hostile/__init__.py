"""Hostile names for the "text from data is inert" tests (``DESIGN.md``).

The fixture is generated, not stored: :func:`rewrite_demo` rewrites the names in a copy of the
demo data (the ``demo_copy`` fixture) and :func:`hostile_result` those of a finished
:class:`~siting.pipeline.RunResult`; every 社区/村, 街道/乡镇, facility and candidate name
becomes one of :data:`PREFIXES` followed by its original name (so it stays unique and a 村 still
ends in 村), and one facility type becomes :data:`FACILITY_TYPE`.

Each prefix carries a marker (``alert(1)`` ...) that appears nowhere else in a page, so a test
can find every place a name landed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

PREFIXES = (
    "${alert(1)}",  # runs inside a template literal
    "`+alert(6)+`",  # leaves a template literal, runs, and enters it again
    "</script><img src=x onerror=alert(2)>",  # leaves a <script>, then runs as HTML
    '=HYPERLINK("http://evil","x")',  # a live formula in Excel
    "+SUM(A1)",
    "@SUM(A2)",
    "-SUM(A3)+",
    "'\"&amp;\u2028<b>bold(4)</b>",  # quotes, an entity, a JS line break, markup
    "{{ 7*191 }}tmpl(7)",  # a Jinja expression: folium/branca re-render script output as a template
    "{#hide(8)",  # a Jinja comment opened in one name ...
    "#}show(9)",  # ... and closed in another would hide everything between
    "{% if 1 %}cond(10){% endif %}",  # a Jinja statement
)
MARKERS = (
    "alert(1)",
    "alert(6)",
    "alert(2)",
    "HYPERLINK",
    "SUM(A1)",
    "SUM(A2)",
    "SUM(A3)",
    "bold(4)",
    "{{ 7*191 }}tmpl(7)",
    "{#hide(8)",
    "#}show(9)",
    "{% if 1 %}cond(10)",
)
FACILITY_TYPE = "<img/src=x/onerror=alert(3)>养老院"  # a layer name (no spaces: types lose them)
TYPE_MARKER = "alert(3)"
DESCRIPTION = '=HYPERLINK("http://evil","description")'
ALL_MARKERS = (*MARKERS, TYPE_MARKER)


def hostile_names(names: Any) -> dict[str, str]:
    """Original name -> hostile name, the prefixes taken in turn over the sorted names."""
    unique = sorted({str(n) for n in names})
    return {n: PREFIXES[i % len(PREFIXES)] + n for i, n in enumerate(unique)}


def _rewrite_csv(path: Path, column: str, mapping: dict[str, str]) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table[column] = table[column].map(lambda v: mapping.get(v, v))
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def _rewrite_geojson(path: Path, mapping: dict[str, str]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for feature in doc["features"]:
        name = feature["properties"]["name"]
        feature["properties"]["name"] = mapping.get(name, name)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def rewrite_demo(scenario: Path) -> dict[str, dict[str, str]]:
    """Give every name in the demo copy whose scenario is ``scenario`` a hostile prefix.

    Returns the mappings (original -> hostile) by layer: ``communities``, ``streets``,
    ``facilities``, ``candidates``. The 养老院 facilities get :data:`FACILITY_TYPE`, declared in
    the scenario as a land-only type; the scenario's description is a formula too.
    """
    root = scenario.parent.parent / "data"
    comm_file = root / "boundaries/demo_communities.geojson"
    street_file = root / "boundaries/demo_streets.geojson"
    fac_file = root / "facilities/demo_facilities.csv"
    cand_file = root / "facilities/demo_candidates.csv"
    pop_file = root / "population/demo_population.csv"

    def names_in_geojson(path: Path) -> list[str]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [f["properties"]["name"] for f in doc["features"]]

    def names_in_csv(path: Path) -> list[str]:
        return list(pd.read_csv(path, dtype=str, encoding="utf-8-sig")["name"])

    maps = {
        "communities": hostile_names(names_in_geojson(comm_file)),
        "streets": hostile_names(names_in_geojson(street_file)),
        "facilities": hostile_names(names_in_csv(fac_file)),
        "candidates": hostile_names(names_in_csv(cand_file)),
    }
    _rewrite_geojson(comm_file, maps["communities"])
    _rewrite_geojson(street_file, maps["streets"])
    _rewrite_csv(pop_file, "name", maps["communities"])
    _rewrite_csv(fac_file, "name", maps["facilities"])
    _rewrite_csv(cand_file, "name", maps["candidates"])
    _rewrite_csv(fac_file, "type", {"养老院": FACILITY_TYPE})
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["description"] = DESCRIPTION
    doc["coverage"]["extra_facility_types"] = {FACILITY_TYPE: "land"}
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return maps


def hostile_result(res: Any, notes: tuple[Any, ...] = ()) -> Any:
    """``res`` (a RunResult) with every name hostile, as :func:`rewrite_demo` would give after
    a run, and ``notes`` as its recorded warnings."""
    inp = res.inputs
    mapping = {
        **hostile_names(inp.communities["name"]),
        **hostile_names(inp.streets["name"]),
        **hostile_names(inp.facilities["name"]),
        **hostile_names(inp.candidates["name"]),
    }

    def renamed(frame: Any) -> Any:
        frame = frame.copy()
        for col in ("name", "unit_name"):
            if col in frame.columns:
                frame[col] = frame[col].map(lambda v: mapping.get(v, v))
        return frame

    facilities = renamed(inp.facilities)
    facilities["type"] = facilities["type"].replace({"养老院": FACILITY_TYPE})
    inputs = dataclasses.replace(
        inp,
        streets=renamed(inp.streets),
        communities=renamed(inp.communities),
        facilities=facilities,
        candidates=renamed(inp.candidates),
    )
    scenario = res.scenario.model_copy(update={"description": DESCRIPTION})
    return dataclasses.replace(
        res,
        scenario=scenario,
        inputs=inputs,
        proposed=renamed(res.proposed),
        communities=renamed(res.communities),
        units=renamed(res.units),
        land=renamed(res.land),
        compliance=renamed(res.compliance),
        warnings=tuple(notes),
    )
