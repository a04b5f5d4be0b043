"""The public API for scripted what-ifs: the README's example as written, the Problem/Solution
seam, Study.evaluate against full runs, in-memory inputs, validated replace."""

from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import siting

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"


@pytest.fixture(scope="module")
def study() -> siting.Study:
    return siting.Study(siting.load_scenario(DEMO))


def test_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import siting\n.*?)```", readme, re.S)
    assert block is not None, "the README has no ```python block starting with import siting"
    monkeypatch.chdir(ROOT)  # the example's paths are the repository's
    out = tmp_path / "out"
    code = block.group(1).replace('"out/', f'"{out.as_posix()}/')
    names: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), names)
    assert (out / "slow-walk" / "summary.json").is_file()
    assert not any(p.name.startswith("out") for p in ROOT.iterdir())  # nothing written there
    ev = names["ev"]
    assert isinstance(ev, siting.Evaluation)
    assert 0 < ev.share < 1


def test_evaluate_equals_the_full_runs_figures(study: siting.Study, demo_result) -> None:
    cov = demo_result.coverage
    proposed = list(demo_result.solution.selected)
    after = study.evaluate(open_sites=proposed)
    before = study.evaluate(open_sites=[])
    assert after.covered_elderly == cov.elderly(cov.covered_after)
    assert before.covered_elderly == cov.elderly(cov.covered_before)
    summary = demo_result.summary
    assert round(after.covered_elderly) == round(summary["covered_after"]["elderly"])
    assert round(before.covered_elderly) == round(summary["covered_before"]["elderly"])
    per = after.communities.set_index("code")["covered"]
    table = demo_result.communities.set_index("code")["covered_after"]
    assert np.allclose(per.reindex(table.index), table, atol=0.051)  # the table rounds to 0.1


def test_evaluate_closes_existing_sites_and_names_unknown_ids(study: siting.Study) -> None:
    existing = study.problem.sites.loc[study.problem.sites["role"] == "existing", "id"]
    base = study.evaluate()
    fewer = study.evaluate(closed=[existing.iloc[0]])
    assert fewer.covered_elderly <= base.covered_elderly
    with pytest.raises(siting.ModelError, match="C999"):
        study.evaluate(open_sites=["C999"])
    with pytest.raises(siting.ModelError, match="not existing"):
        study.evaluate(closed=["C001"])


def test_replace_is_validated(study: siting.Study) -> None:
    sc = study.scenario
    slow = sc.replace({"coverage.walk_speed_mps": 0.76, "model.p": 12})
    assert slow.coverage.urban_radius_m == pytest.approx(684.0)
    assert slow.model.p == 12
    assert sc.model.p == 10  # the original is untouched
    preset = sc.replace({"coverage.walk_speed": "frail"})
    assert preset.coverage.walk_speed_mps == 0.64
    assert preset.replace({"coverage.walk_speed_mps": 0.9}).coverage.walk_speed is None
    with pytest.raises(siting.ScenarioError, match="walk_speed_mps"):
        sc.replace({"coverage.walk_speed_mps": -1})
    with pytest.raises(siting.ScenarioError, match="unknown key"):
        sc.replace({"model.pp": 3})
    with pytest.raises(siting.ScenarioError, match="nosuch"):
        sc.replace({"nosuch.key": 1})
    with pytest.raises(siting.InputFileNotFoundError, match=r"missing\.csv"):
        sc.replace({"inputs.facilities.path": Path("missing.csv")})


def test_a_facility_added_in_memory(study: siting.Study, demo_result) -> None:
    sc = study.scenario
    fac = pd.read_csv(ROOT / "data/facilities/demo_facilities.csv", dtype={"id": str})
    first = demo_result.proposed.index[0]  # where the plan puts its first new site
    point = demo_result.proposed.geometry.iloc[0]
    layer = gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(fac["lon"], fac["lat"]),
        crs=4326,
    )
    added = pd.concat(
        [
            layer,
            gpd.GeoDataFrame(
                {"id": ["NEW1"], "type": ["社区日间照料中心"], "land_area_m2": [300.0]},
                geometry=[point],
                crs=4326,
            ),
        ],
        ignore_index=True,
    )
    res = siting.run(sc, facilities=added)
    assert "NEW1" in set(res.problem.sites.loc[res.problem.sites["role"] == "existing", "id"])
    gain = demo_result.coverage.new_sites[0].newly_covered
    before = res.coverage.elderly(res.coverage.covered_before)
    was = demo_result.coverage.elderly(demo_result.coverage.covered_before)
    assert before == pytest.approx(was + gain)  # the new facility's circle counts at once
    assert first not in res.solution.selected  # that spot is taken: the plan goes elsewhere
    with pytest.raises(siting.InputDataError, match="type"):
        siting.run(sc, facilities=added.drop(columns="type"))


def test_one_solution_shape_for_every_model(study: siting.Study) -> None:
    from siting.models import LSCP, MCLP, CapacitatedMCLP, PCenter, PMedian, TargetCoverage

    problem = study.problem
    cand = problem.sites["role"] == "candidate"
    capped = siting.Problem(
        problem.demand, problem.sites.assign(capacity=1500.0), problem.cost, problem.network
    )
    answers = [
        MCLP.from_problem(problem, p=3).solve(method="fast", time_limit_s=10),
        LSCP.from_problem(problem, exclude_uncoverable=True).solve(time_limit_s=10),
        TargetCoverage.from_problem(problem, target_share=0.6).solve(time_limit_s=10),
        CapacitatedMCLP.from_problem(capped, p=3).solve(method="fast", time_limit_s=10),
        PMedian.from_problem(problem, p=3, max_walk_m=3000).solve(method="fast", time_limit_s=10),
        PCenter.from_problem(problem, p=20, max_walk_m=8000).solve(time_limit_s=20),
    ]
    everyone = problem.uncoverable()
    for s in answers:
        assert isinstance(s, siting.Solution)
        assert s.selected == tuple(g.site for g in s.gains)
        assert set(s.selected) <= set(problem.sites.loc[cand, "id"])
        assert s.status
        assert s.solver
        assert s.gap >= 0
    mclp, lscp, target, cmclp, pmedian, pcenter = answers
    # `uncoverable`: elderly no usable site reaches within their circle, the same in all
    circle_models = (mclp, lscp, target, cmclp)
    for s in circle_models:
        assert s.uncoverable == pytest.approx(problem.weights[everyone].sum())
    assert cmclp.capacity is not None
    assert pmedian.walks is not None
    assert pmedian.walks.mean_walk_m is not None
    assert pcenter.walks is not None
    assert pcenter.walks.bound_m <= pcenter.walks.worst_walk_m


def test_build_problem_from_tables_without_a_scenario(study: siting.Study) -> None:
    prep = study.prepared
    inp = prep.inputs
    problem = siting.build_problem(
        inp.communities.to_crs(prep.crs),
        prep.net.to_graph(),  # an osmnx-style graph is accepted as well as the network
        facilities=inp.facilities,
        candidates=inp.candidates,
        circle_types=inp.circle_types,
        urban_radius_m=900.0,
        rural_radius_m=1000.0,
    )
    assert (problem.cost != study.problem.cost).nnz == 0
    assert problem.sites["id"].tolist() == study.problem.sites["id"].tolist()


def test_import_siting_is_light() -> None:
    import subprocess
    import sys

    code = "import sys, siting; print('osmnx' in sys.modules, 'geopandas' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("model", ["mclp", "lscp", "cmclp", "pmedian", "pcenter"])
def test_every_model_checks_its_inputs_the_same_way(model: str) -> None:
    from siting.models import LSCP, MCLP, CapacitatedMCLP, PCenter, PMedian

    cost = np.array([[100.0, 300.0], [200.0, 100.0]])
    build = {
        "mclp": lambda w, **k: MCLP.from_cost_matrix(cost, w, radius_m=500.0, p=1, **k),
        "lscp": lambda w, **k: LSCP.from_cost_matrix(cost, radius_m=500.0, weights=w, **k),
        "cmclp": lambda w, **k: CapacitatedMCLP.from_cost_matrix(
            cost, w, radius_m=500.0, capacity=[5.0, 5.0], p=1, **k
        ),
        "pmedian": lambda w, **k: PMedian.from_cost_matrix(cost, w, p=1, cutoff_m=500.0, **k),
        "pcenter": lambda w, **k: PCenter.from_cost_matrix(cost, w, p=1, **k),
    }[model]
    build([1.0, 2.0])  # the good twin
    for bad in ([1.0, np.nan], [1.0, -2.0], [1.0, np.inf], [1.0]):
        with pytest.raises(siting.ModelError, match="`weights` must be 2 finite numbers >= 0"):
            build(bad)
    with pytest.raises(siting.ModelError, match="`site_ids` has 1 names for 2 columns"):
        build([1.0, 2.0], site_ids=["a"])


def test_compare_stays_the_function_after_the_module_loads(demo_result) -> None:
    import siting.outputs.comparison

    first = siting.compare([demo_result, demo_result])
    again = siting.compare([demo_result, demo_result])  # a package attribute is not replaced
    assert first.equals(again)


def test_no_site_open_at_all_is_a_plain_answer(tmp_path: Path) -> None:
    """p = 0 and no circle facility: nobody is covered, said as 0 (it crashed drawing the
    service areas of no site)."""
    sc = siting.load_scenario(DEMO).replace({"model.p": 0})
    fac = pd.read_csv(ROOT / "data/facilities/demo_facilities.csv", dtype={"id": str})
    fac = fac[fac["type"] == "养老院"]  # land only: no circle
    layer = gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(fac.lon, fac.lat), crs=4326
    )
    res = siting.run(sc, facilities=layer)
    assert res.summary["covered_after"]["elderly"] == 0
    assert res.service_areas.empty
    res.write(tmp_path / "out")
    assert (tmp_path / "out" / "map.png").is_file()


def test_a_dollar_in_the_scenario_name_is_text_in_the_png(demo_result, tmp_path: Path) -> None:
    import dataclasses

    from siting.outputs import mapimage

    named = dataclasses.replace(
        demo_result, scenario=demo_result.scenario.model_copy(update={"name": "2025年$x^$方案"})
    )
    path = mapimage.write_png(named, named.tables["proposed_sites"], tmp_path / "map.png")
    assert path.stat().st_size > 10_000


def test_replace_merges_mappings_and_resolves_paths_here(
    study: siting.Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = study.scenario
    merged = sc.replace({"rules": {"overrides": {"land_per_capita": 0.25}}})
    assert merged.rules.set == sc.rules.set  # the rule set is kept, as base: would
    assert merged.rules.overrides == {"land_per_capita": 0.25}
    slower = sc.replace({"coverage": {"walk_speed_mps": 0.76}})
    assert slower.coverage.facility_types == sc.coverage.facility_types
    with pytest.raises(siting.ScenarioError, match="not both"):
        sc.replace({"coverage.walk_speed": "elderly", "coverage.walk_speed_mps": 0.9})
    monkeypatch.chdir(ROOT)
    here = sc.replace({"inputs.facilities.path": "data/facilities/demo_facilities.csv"})
    assert here.inputs.facilities.path.is_absolute()
    with pytest.raises(siting.InputFileNotFoundError, match="relative to the current folder"):
        sc.replace({"inputs.facilities.path": "../data/facilities/demo_facilities.csv"})


def test_write_keeps_others_files_unless_told(demo_result, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "report.xlsx").write_text("my own report", encoding="utf-8")
    with pytest.raises(siting.OutputError, match="overwrite"):
        demo_result.write(folder)
    assert (folder / "report.xlsx").read_text(encoding="utf-8") == "my own report"
    with pytest.raises(siting.OutputError, match="current folder"):
        demo_result.write(".")


def test_in_memory_candidates_win_over_candidate_generation(
    study: siting.Study, demo_result
) -> None:
    sc = study.scenario.replace(
        {"inputs.candidates": None, "candidate_generation": {"method": "kmeans", "k": 12}}
    )
    generated = siting.run(sc)
    assert all(s.startswith("K") for s in generated.solution.selected)
    cand = pd.read_csv(ROOT / "data/facilities/demo_candidates.csv", dtype={"id": str})
    layer = gpd.GeoDataFrame(
        cand.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(cand["lon"], cand["lat"]),
        crs=4326,
    )
    res = siting.run(sc, candidates=layer)
    assert set(res.solution.selected) <= set(cand["id"])  # the given ones, not generated K...


def test_compare_names_the_age_group_and_tells_runs_apart(demo_result) -> None:
    table = siting.compare([demo_result, demo_result])
    assert list(table.columns) == ["demo (1)", "demo (2)"]
    assert table.loc["age_group"].tolist() == ["60+", "60+"]
