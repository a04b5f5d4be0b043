"""Pipeline options that change the model: budgets and excluded candidates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siting import InputDataError, ScenarioError
from siting.pipeline.stages import run
from siting.scenario import load


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_land_budget_and_excluded_candidates(demo_copy: Path, demo_result) -> None:
    first = demo_result.solution.selected[0]
    _edit(
        demo_copy,
        "  p: 10\n",
        f"  p: 10\n  budget: 6000\n  cost_column: land_area_m2\n  excluded: [{first}]\n",
    )
    res = run(load(demo_copy))
    chosen = list(res.solution.selected)
    land = pd.read_csv(
        demo_copy.parent.parent / "data/facilities/demo_candidates.csv", encoding="utf-8-sig"
    ).set_index("id")["land_area_m2"]
    assert first not in chosen
    assert land[chosen].sum() <= 6000
    assert len(chosen) <= 10
    assert res.solution.newly_covered < demo_result.solution.newly_covered


def test_bad_model_options_are_named(demo_copy: Path) -> None:
    _edit(demo_copy, "  p: 10\n", "  p: 10\n  excluded: [C999]\n")
    with pytest.raises(ScenarioError, match="C999"):
        run(load(demo_copy))
    _edit(demo_copy, "  excluded: [C999]\n", "  budget: 100\n  cost_column: price\n")
    with pytest.raises(InputDataError, match="'price' is not a column"):
        run(load(demo_copy))


def test_lscp_and_target_models_in_a_scenario(demo_copy: Path) -> None:
    from siting import ModelError

    _edit(demo_copy, "  name: mclp\n  p: 10\n", "  name: lscp\n")
    with pytest.raises(ModelError, match="out of reach of every candidate"):
        run(load(demo_copy))  # the demo has elderly no candidate reaches: named, not dropped
    _edit(demo_copy, "  name: lscp\n", "  name: lscp\n  exclude_uncoverable: true\n")
    lscp = run(load(demo_copy))
    assert lscp.solution.objective == len(lscp.solution.selected)
    assert lscp.solution.bound <= len(lscp.solution.selected)
    assert lscp.demand.loc[~lscp.demand["covered_after"], "weight"].sum() == pytest.approx(
        lscp.coverage.elderly(lscp.coverage.uncoverable)
    )  # everyone else is covered
    _edit(
        demo_copy,
        "  name: lscp\n  exclude_uncoverable: true\n",
        "  name: target\n  target_share: 0.7\n  min_land_area_m2: 1000\n",
    )
    target = run(load(demo_copy))
    w = target.demand["weight"]
    assert (w * target.demand["covered_after"]).sum() >= 0.7 * w.sum() - 1e-6
    land = target.inputs.candidates["land_area_m2"]
    assert (land[list(target.solution.selected)] >= 1000).all()
    assert len(target.solution.selected) < len(lscp.solution.selected)


def test_capacitated_model_splits_served_over_capacity_and_out_of_reach(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from siting.cli import main

    _edit(
        demo_copy,
        "  name: mclp\n  p: 10\n",
        "  name: cmclp\n  p: 10\n  capacity_column: beds\n  elderly_per_place: 20\n"
        "  candidate_capacity: 30\n",
    )
    out = demo_copy.parent / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # the headline says what the model counted: served within capacity, and over it
    assert f"其中容量内服务：{s['served']['elderly']:>8,.0f} 人" in printed
    assert f"超出设施容量：{s['over_capacity']['elderly']:,.0f} 人" in printed
    total = s["elderly_total"]
    parts = s["served"]["elderly"] + s["over_capacity"]["elderly"] + s["out_of_reach"]["elderly"]
    assert parts == pytest.approx(total, abs=1.0)  # every elderly person is in one of three
    assert s["over_capacity"]["elderly"] > 0  # 20 elderly per bed: centres fill up
    assert s["model"]["name"] == "cmclp"
    assert s["model"]["status"] == "Optimal"
    loads = [x["served"] for x in s["new_sites"]]
    assert all(load <= 30 * 20 + 1e-6 for load in loads)  # no new site serves beyond capacity
    assert sum(x["newly_covered"] for x in s["new_sites"]) == pytest.approx(
        s["covered_after"]["elderly"] - s["covered_before"]["elderly"], abs=1.0
    )  # and each is credited with the elderly it brings inside a circle


def test_generated_candidates_where_the_gaps_are(demo_copy: Path) -> None:
    _edit(
        demo_copy,
        "  candidates: {path: ../data/facilities/demo_candidates.csv, coord_system: wgs84}\n",
        "",
    )
    with pytest.raises(ScenarioError, match="candidate_generation"):
        run(load(demo_copy))
    text = demo_copy.read_text(encoding="utf-8") + "candidate_generation: {method: kmeans, k: 15}\n"
    demo_copy.write_text(text, encoding="utf-8")
    res = run(load(demo_copy))
    assert 0 < len(res.solution.selected) <= 10
    assert all(s.startswith("K") for s in res.solution.selected)
    w = res.demand["weight"]
    before = (w * res.demand["covered_before"]).sum()
    after = (w * res.demand["covered_after"]).sum()
    assert after > before + 10_000  # the generated sites close real gaps


def test_pcenter_and_pmedian_in_a_scenario(demo_copy: Path) -> None:
    """The walks they report are the network walks from each demand point to its nearest open
    site; p-center's longest is proven optimal on the demo, and no shorter than p-median's
    would allow."""
    import numpy as np

    from siting import ModelError

    _edit(demo_copy, "  name: mclp\n  p: 10\n", "  name: pcenter\n  p: 10\n  max_walk_m: 1800\n")
    with pytest.raises(ModelError, match="max_walk_m"):  # 1,800 m set: not enough for everyone
        run(load(demo_copy))
    _edit(demo_copy, "  max_walk_m: 1800\n", "")  # unset: 2 x 1 km, doubled until enough
    center = run(load(demo_copy))
    assert center.solution.walks.max_walk_m == 4000
    _edit(demo_copy, "  name: pcenter\n", "  name: pcenter\n  max_walk_m: 5000\n")
    center = run(load(demo_copy))
    d = center.solution.walks
    assert center.solution.model == "pcenter"
    assert d.bound_m <= d.worst_walk_m <= 5000
    assert center.solution.status.startswith("Optimal")
    assert len(center.solution.selected) <= 10
    assert sum(g.newly_covered for g in center.coverage.new_sites) == pytest.approx(
        (center.demand["weight"] * center.demand["covered_after"]).sum()
        - (center.demand["weight"] * center.demand["covered_before"]).sum()
    )
    from siting.outputs import tables as report
    from siting.outputs.webmap import page as maps

    page = maps.write_map(
        center, report.tables(center)["proposed_sites"], demo_copy.parent / "map.html"
    ).read_text(encoding="utf-8")
    assert f"最远步行距离 {d.worst_walk_m:,.0f} m" in page  # the legend says what it proves
    _edit(demo_copy, "  name: pcenter\n", "  name: pmedian\n")
    median = run(load(demo_copy))
    m = median.solution.walks
    assert m.mean_walk_m > 0
    assert m.unassigned == 0  # 5 km reaches everyone
    assert m.worst_walk_m >= d.worst_walk_m - 1e-6  # p-center minimises exactly this
    assert np.isfinite(median.solution.bound)
