"""The live plan of the meeting map (issue 15): its data, its script in Chromium with no
network, and the saved plan rerun by ``siting run``.

The page's figures are checked against siting's own coverage computations for the same plan
(:class:`siting.pipeline.study.Evaluator`, :func:`siting.models.build_order`), not against numbers
written into the test. The browser tests skip when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from siting._errors import ModelError
from siting._record import recording
from siting.models import PLAN_STATUS
from siting.outputs.webmap import liveplan
from siting.pipeline.plan import plan_solution
from siting.pipeline.study import Evaluator
from siting.scenario import Plan

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")


# -- the data ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows", [[], [0], [5, 6, 7], [3, 200, 70_000, 70_001, 2**31 - 1], list(range(0, 5000, 7))]
)
def test_varints_round_trip(rows: list[int]) -> None:
    assert liveplan.from_varints(liveplan.varints(rows)).tolist() == rows


def test_varints_refuse_unsorted_rows() -> None:
    with pytest.raises(ValueError, match="ascending"):
        liveplan.varints([3, 1])


def _decoded(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    import base64

    weight = np.frombuffer(base64.b64decode(data["demand"]["weight"]), dtype="<f8")
    community = np.frombuffer(base64.b64decode(data["demand"]["community"]), dtype="<u4")
    cover = [liveplan.from_varints(c) for c in data["sites"]["cover"]]
    return weight, community, cover


def test_the_page_data_holds_the_coverage_sets_exactly(demo_result) -> None:
    res = demo_result
    problem = res.problem
    data = liveplan.plan_data(res)
    weight, community, cover = _decoded(data)
    ids = data["sites"]["id"]
    assert len(ids) == len(problem.sites)  # the demo's 74 candidates are under the limit
    assert data["candidates"] == {"total": 74, "shown": 74, "limit": liveplan.MAX_CANDIDATES}
    # the embedded demand points are those some site reaches, with their elderly exactly
    csc = problem.cover.tocsc()
    rows = np.unique(csc.indices)
    assert np.array_equal(weight, problem.weights[rows])
    codes = np.array(res.communities["code"].astype(str))
    assert np.array_equal(codes[community], problem.demand["community"].astype(str)[rows])
    for k, site in enumerate(ids):
        c = problem.column_of([site])[0]
        assert np.array_equal(rows[cover[k]], csc.indices[csc.indptr[c] : csc.indptr[c + 1]])
    assert data["figures"]["run"] == pytest.approx(res.coverage.elderly(res.coverage.covered_after))
    assert data["total"] == pytest.approx(float(problem.weights.sum()))
    assert sum(data["sites"]["run"]) == 27 + len(res.solution.selected)


def test_many_candidates_the_proposed_and_the_best_others(demo_result) -> None:
    res = demo_result
    data = liveplan.plan_data(res, limit=14)
    kinds = data["sites"]["kind"]
    shown = [s for s, k in zip(data["sites"]["id"], kinds, strict=True) if k == "candidate"]
    assert data["candidates"] == {"total": 74, "shown": 14, "limit": 14}
    assert set(res.solution.selected) <= set(shown)
    # the other four: those adding most elderly to the existing facilities' coverage
    problem = res.problem
    before = res.coverage.covered_before
    csc = problem.cover.tocsc()
    gains = {}
    for c in problem.columns("candidate"):
        site = problem.site_ids[c]
        if site not in res.solution.selected:
            reach = csc.indices[csc.indptr[c] : csc.indptr[c + 1]]
            gains[site] = problem.weights[reach[~before[reach]]].sum()
    best = sorted(gains, key=lambda s: -gains[s])[:4]
    assert set(shown) - set(res.solution.selected) == set(best)


def test_the_script_is_fixed_text() -> None:
    """No Jinja delimiter (folium renders pages through Jinja), no double-quoted string or
    template literal (data never sits in code), no network."""
    js = liveplan.script()
    for bad in ("{{", "{%", "{#", '"', "`", "http:", "https:", "fetch(", "XMLHttpRequest"):
        assert bad not in js, bad
    assert "bindTooltip(" not in js.replace("marker.bindTooltip(", "")  # one, on new badges


# -- the saved plan --------------------------------------------------------------------------


def test_plan_solution_is_the_plan_in_build_order(demo_result) -> None:
    problem = demo_result.problem
    picked = list(reversed(demo_result.solution.selected))[:4]
    solved = plan_solution(problem, Plan(open=tuple(picked)))
    assert solved.status == PLAN_STATUS
    assert set(solved.selected) == set(picked)
    evaluated = Evaluator(problem).evaluate(picked)
    assert solved.objective == pytest.approx(evaluated.covered_elderly)
    assert solved.baseline + sum(g.newly_covered for g in solved.gains) == pytest.approx(
        solved.objective
    )
    gains = [g.newly_covered for g in solved.gains]
    assert gains == sorted(gains, reverse=True)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (Plan(open=("NOPE",)), r"not candidates: \['NOPE'\]"),
        (Plan(open=("F001",)), r"existing facilities or excluded candidates .*\['F001'\]"),
        (Plan(open=("C007", "C007")), "more than once"),
    ],
)
def test_plan_ids_that_cannot_open_stop_the_run(demo_result, plan: Plan, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        plan_solution(demo_result.problem, plan)


def test_plan_closing_something_not_a_facility_stops_the_run(demo_result) -> None:
    from siting.pipeline.plan import plan_roles

    with pytest.raises(ModelError, match=r"not existing circle facilities.*\['C007'\]"):
        plan_roles(demo_result.problem.sites, Plan(closed=("C007",)))
    sites = plan_roles(demo_result.problem.sites, Plan(closed=("F003",)))
    assert sites.set_index("id").loc["F003", "role"] == "excluded"


def test_a_plan_whose_ids_now_name_other_sites_stops_the_run(demo_result) -> None:
    """Ids numbered from the row order shift when a row is removed: the saved names catch it
    (white space aside), before anything is closed or opened."""
    from siting.pipeline.plan import plan_roles

    sites = demo_result.problem.sites.set_index("id")
    f3, c7 = sites.loc["F003", "name"], sites.loc["C007", "name"]
    same = Plan(open=("C007",), closed=("F003",), names={"F003": f"  {f3} ", "C007": c7})
    plan_roles(demo_result.problem.sites, same)
    moved = Plan(open=("C007",), closed=("F003",), names={"F003": "另一个中心", "C007": c7})
    with pytest.raises(ModelError, match=r"'F003' was '另一个中心' when saved, now"):
        plan_roles(demo_result.problem.sites, moved)


def test_a_plan_says_which_model_settings_it_does_not_apply(demo_result) -> None:
    from siting.scenario import Model

    model = Model(name="mclp", p=3, budget=1000.0, cost_column="land_area_m2", equity_floor=0.3)
    with recording() as rec:
        plan_solution(demo_result.problem, Plan(open=("C007",)), model)
    (note,) = [n for n in rec.notes if n.code == "plan_model_not_applied"]
    assert "budget 1,000" in note.message
    assert "equity_floor 0.3" in note.message
    assert "未被应用" in note.message_zh
    with recording() as rec:
        plan_solution(demo_result.problem, Plan(open=("C007",)), Model(name="mclp", p=3))
    assert not [n for n in rec.notes if n.code == "plan_model_not_applied"]
    with recording() as rec:  # more new sites than the scenario's p
        plan_solution(demo_result.problem, Plan(open=("C007", "C020")), Model(name="mclp", p=1))
    (note,) = [n for n in rec.notes if n.code == "plan_model_not_applied"]
    assert "p 1 (the plan opens 2)" in note.message


def test_a_plan_whose_figure_differs_is_a_recorded_warning(demo_result) -> None:
    with recording() as rec:
        plan_solution(demo_result.problem, Plan(open=("C007",), covered_elderly=1.0))
    assert [n.code for n in rec.notes] == ["plan_figure_differs"]
    with recording() as rec:
        solved = plan_solution(demo_result.problem, Plan(open=("C007",)))
        plan_solution(demo_result.problem, Plan(open=("C007",), covered_elderly=solved.objective))
    assert rec.notes == []


def test_the_saved_scenario_is_self_contained(demo_result, tmp_path: Path) -> None:
    from siting.scenario import load

    text = liveplan.scenario_yaml(demo_result.scenario)
    assert "base:" not in text
    (tmp_path / "plan.yaml").write_text(
        text + 'plan:\n  open: ["C007"]\n  closed: ["F003"]\n  covered_elderly: 1.5\n',
        encoding="utf-8",
    )
    sc = load(tmp_path / "plan.yaml")  # from another folder: every path is absolute
    assert sc.plan == Plan(open=("C007",), closed=("F003",), covered_elderly=1.5)
    assert sc.name == "demo_会议方案"
    assert sc.coverage == demo_result.scenario.coverage
    assert sc.model == demo_result.scenario.model


# -- in Chromium, no network -------------------------------------------------------------------

HOSTILE_IDS = (
    'C1"]\nplan: {open: []}',
    "a\u2028b\u2029c\x85d\re",
    "名称：'x' # y",
    "tab\there\\ back",
    "emoji \U0001f600 and \x7f",
    "- [x]",
)

TOGGLE = """(id) => {
    const start = performance.now();
    const state = window.sitingPlan.toggle(id);
    return {ms: performance.now() - start, state: state};
}"""


def _page(pw: Any, size: tuple[int, int] = (1400, 1000)) -> tuple[Any, Any]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, accept_downloads=True
    )
    context.route(  # no network at all: only the page itself and inline data may load
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
        ),
    )
    return browser, context.new_page()


def _best_next(problem: Any, open_ids: list[str]) -> tuple[str, float]:
    """The candidate adding most elderly to ``open_ids`` (and the existing sites)."""
    columns = np.r_[problem.columns("existing"), problem.column_of(open_ids)]
    covered = problem.covered(columns)
    csc = problem.cover.tocsc()
    best, gain = "", 0.0
    for c in problem.columns("candidate"):
        reach = csc.indices[csc.indptr[c] : csc.indptr[c + 1]]
        g = float(problem.weights[reach[~covered[reach]]].sum())
        if problem.site_ids[c] not in open_ids and g > gain:
            best, gain = problem.site_ids[c], g
    return best, gain


def _best_swap(
    evaluator: Evaluator, now: list[str], closed: list[str]
) -> tuple[str, str, float] | None:
    """The exchange of one of ``now`` for another candidate adding most elderly (ties: the
    earlier column out, then in, as the page breaks them), by evaluating every exchange."""
    problem = evaluator.problem
    base = evaluator.evaluate(now, closed=closed).covered_elderly
    best, most = None, 1e-9
    for out in sorted(now, key=lambda s: problem.column_of([s])[0]):
        for c in problem.columns("candidate"):
            into = problem.site_ids[c]
            if into in now:
                continue
            plan = [s for s in now if s != out] + [into]
            net = evaluator.evaluate(plan, closed=closed).covered_elderly - base
            if net > most + 1e-6:
                best, most = (out, into, net), net
    return best


@needs_chromium
def test_switching_sites_gives_python_s_figures(demo_out: Path, demo_result, tmp_path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from siting.cli import main

    res = demo_result
    cov, problem = res.coverage, res.problem
    before, run = cov.elderly(cov.covered_before), cov.elderly(cov.covered_after)
    chosen = list(res.solution.selected)
    evaluator = Evaluator(problem)
    # the candidate adding fewest elderly to the existing sites' coverage
    reach = problem.cover.tocsc()
    poor = min(
        (c for c in problem.columns("candidate") if problem.site_ids[c] not in chosen),
        key=lambda c: problem.weights[
            [
                r
                for r in reach.indices[reach.indptr[c] : reach.indptr[c + 1]]
                if not cov.covered_before[r]
            ]
        ].sum(),
    )
    poor = problem.site_ids[poor]
    errors: list[str] = []
    times: list[float] = []
    with sync_api.sync_playwright() as pw:
        browser, page = _page(pw)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((demo_out / "map.html").resolve().as_uri())
        page.wait_for_function("() => window.sitingPlan !== undefined")
        start = page.evaluate("() => window.sitingPlan.state()")
        start_swap = page.evaluate("() => window.sitingPlan.bestSwap()")
        # from a site's popup: its button switches it, and says so, the popup staying open
        page.locator(".siting-site").first.click()
        button = page.locator(".leaflet-popup-content button.siting-plan-toggle")
        labels = [button.inner_text()]
        button.click()
        labels.append(button.inner_text())
        by_popup = page.evaluate("() => window.sitingPlan.state()")
        button.click()
        page.keyboard.press("Escape")

        def toggle(site: str) -> dict[str, Any]:
            out = page.evaluate(TOGGLE, site)
            times.append(out["ms"])
            return out["state"]

        # switching off the last proposed site loses exactly its marginal gain
        last = toggle(chosen[-1])
        # switching off all of them gives covered-before
        for site in chosen[:-1]:
            nothing = toggle(site)
        page.evaluate("() => window.sitingPlan.reset()")
        # a meeting's plan: the 3rd site dropped, an existing centre closed, the best next taken
        toggle(chosen[2])
        closed = toggle("F003")
        mid = [s for s in chosen if s != chosen[2]]
        best = closed["best_next"]
        meeting = toggle(best["id"])
        swap = page.evaluate("() => window.sitingPlan.bestSwap()")
        page.locator("#siting-plan button[data-act=swap]").click()
        panel = page.locator("#siting-plan").inner_text()
        with page.expect_download() as download:
            page.locator("#siting-plan button[data-act=save]").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        unknown = page.evaluate(
            "() => { try { window.sitingPlan.toggle('NOPE'); return null; }"
            " catch (e) { return String(e); } }"
        )
        quoted = page.evaluate(
            "(ids) => ids.map((s) => [window.sitingLivePlan.yamlString(s),"
            " window.sitingLivePlan.commentText(s)])",
            list(HOSTILE_IDS),
        )
        page.evaluate("() => window.sitingPlan.reset()")
        toggle(chosen[0])
        toggle(poor)
        poor_swap = page.evaluate("() => window.sitingPlan.bestSwap()")
        browser.close()
    assert errors == []
    for raw, (scalar, comment) in zip(HOSTILE_IDS, quoted, strict=True):
        # an id in the saved plan reads back as itself; a name in a comment stays a comment
        assert yaml.safe_load(f"ids: [{scalar}]") == {"ids": [raw]}
        assert yaml.safe_load(f"# {comment}\nx: 1") == {"x": 1}
    assert start["covered_elderly"] == pytest.approx(run, abs=1e-6)
    assert labels == ["在当前方案中关闭此站点", "在当前方案中开启此站点"]
    assert {s["id"] for s in by_popup["new_sites"]} == set(chosen[1:])  # badge 1: the first
    assert by_popup["covered_elderly"] == pytest.approx(
        evaluator.evaluate(chosen[1:]).covered_elderly, abs=1e-6
    )
    assert start["before"] == pytest.approx(before, abs=1e-6)
    assert start["share"] == pytest.approx(run / problem.weights.sum())
    assert [s["id"] for s in start["new_sites"]] == chosen
    for got, want in zip(start["new_sites"], res.solution.gains, strict=True):
        assert got["gain"] == pytest.approx(want.newly_covered, abs=1e-6)
    assert run - last["covered_elderly"] == pytest.approx(
        res.solution.gains[-1].newly_covered, abs=1e-6
    )
    assert nothing["covered_elderly"] == pytest.approx(before, abs=1e-6)
    assert nothing["new_sites"] == []
    # the plan with a centre closed, against Python's evaluation of the same plan
    assert closed["closed"] == ["F003"]
    want = evaluator.evaluate(mid, closed=["F003"]).covered_elderly
    assert closed["covered_elderly"] == pytest.approx(want, abs=1e-6)
    best_id, best_gain = _best_next(problem.with_roles({"F003": "excluded"}), mid)
    assert (best["id"], best["gain"]) == (best_id, pytest.approx(best_gain, abs=1e-6))
    want = evaluator.evaluate([*mid, best_id], closed=["F003"]).covered_elderly
    assert meeting["covered_elderly"] == pytest.approx(want, abs=1e-6)
    assert "F003" not in meeting["open_sites"]
    # the best exchange of one new site for another candidate, against every exchange: none
    # for the run's (optimal) plan; one for a plan with a poor site in it
    assert start_swap is None
    now = [s["id"] for s in meeting["new_sites"]]
    want_swap = _best_swap(evaluator, now, ["F003"])
    if want_swap is None:
        assert swap is None
        assert "没有能增加覆盖的单点替换" in panel
    else:
        assert (swap["out"], swap["into"]) == want_swap[:2]
        assert swap["gain"] == pytest.approx(want_swap[2], abs=1e-6)
        assert f"净增 +{round(want_swap[2]):,}" in panel
    want_swap = _best_swap(evaluator, [*chosen[1:], poor], [])
    assert want_swap is not None
    assert (poor_swap["out"], poor_swap["into"]) == want_swap[:2]
    assert poor_swap["gain"] == pytest.approx(want_swap[2], abs=1e-6)
    assert "最佳下一处" in panel
    assert "关闭的现有设施" in panel
    assert f"{round(meeting['covered_elderly']):,}" in panel
    assert unknown is not None
    assert "not a site on this page" in unknown
    # toggle times are measured by benchmarks/liveplan.py, not asserted here: a loaded CI
    # machine once stalled one toggle for 100 s (the brief: speed is proved by benchmarks)
    assert len(times) > len(chosen)

    # the saved plan, rerun by `siting run`, gives the same figure
    text = saved.read_text(encoding="utf-8")
    assert saved.name == "demo_会议方案.yaml"
    plan = yaml.safe_load(text)["plan"]
    assert plan["closed"] == ["F003"]
    assert plan["open"] == [s["id"] for s in meeting["new_sites"]]
    out = tmp_path / "rerun"
    assert main(["run", str(saved), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["covered_after"]["elderly"] == round(meeting["covered_elderly"], 1)
    assert summary["model"]["status"] == PLAN_STATUS
    codes = [w["code"] for w in summary["warnings"]]
    assert "plan_figure_differs" not in codes
    assert "plan_closes_facilities" in codes
    proposed = pd.read_csv(out / "proposed_sites.csv", encoding="utf-8-sig", dtype=str)
    assert proposed["id"].tolist() == plan["open"]  # the page's build order is Python's


def test_land_after_a_plan_leaves_out_what_it_closes(demo_result) -> None:
    """The land check and the 规划后 land rule: a closed facility's land counts today and not
    after the plan."""
    from siting.pipeline.stages import run
    from siting.scenario import load

    demo = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
    res = run(load(demo).replace({"plan": {"open": ["C007"], "closed": ["F001"]}}))
    fac = res.inputs.facilities
    land = res.tables["land_check"].set_index("unit")
    unit = res.communities.set_index("code")["street_code"].iloc[0]  # 人民路街道, F001's
    assert land.loc[unit, "closed_m2"] == pytest.approx(float(fac.loc["F001", "land_area_m2"]))
    base = demo_result.tables["land_check"].set_index("unit")
    assert land.loc[unit, "provided_m2"] == base.loc[unit, "provided_m2"]  # today: unchanged
    comp = res.compliance
    after = comp[
        (comp["rule"] == "land_per_capita") & (comp["unit"] == unit) & (comp["stage"] == "规划后")
    ]
    expected = land.loc[unit, "provided_m2"] + land.loc[unit, "proposed_m2"] - 450.0
    assert float(after["actual"].iloc[0]) == pytest.approx(expected)


def test_a_plan_runs_summary_sheet_names_no_model(demo_result) -> None:
    """A saved plan is not solved: 概要's 模型 row says so instead of naming the scenario's."""
    from siting.outputs.tables import summary, tables
    from siting.outputs.workbook import _summary_rows
    from siting.pipeline.plan import plan_solution

    solved = plan_solution(demo_result.problem, Plan(open=("C007",)))
    planned = replace(demo_result, solution=solved)
    rows = _summary_rows(summary(planned, tables(planned)), "60岁以上").set_index("项目")["数值"]
    assert rows["模型"] == "无：会议方案，站点由情景的 plan 指定"
    plain = _summary_rows(summary(demo_result, tables(demo_result)), "60岁以上")
    assert plain.set_index("项目")["数值"]["模型"] == "最大覆盖模型（MCLP）"
