"""Documents a bureau can put its name to (issue 14): what people read is Chinese and cites
policy by title and number; what scripts read (CSV columns, JSON keys, codes) stays English."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from siting.cli import main
from siting.outputs.labels_zh import solver_zh, status_zh
from siting.outputs.tables import _tenths_adding_up
from siting.rules.book import available_sets, format_rules, load_rules

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = re.compile(r"《[^》]+》")  # a title: a standard's number alone is not citable


# 1. rule sources are citable


@pytest.mark.parametrize("set_id", available_sets())
def test_every_rule_source_names_a_document_never_a_seed_number(set_id: str) -> None:
    for rule in load_rules(set_id).rules.values():
        assert "seed" not in rule.source.lower(), (set_id, rule.id, rule.source)
        assert DOCUMENT.search(rule.source), (set_id, rule.id, rule.source)


def test_city_rules_cite_the_official_title_and_number() -> None:
    puyang = load_rules("henan/puyang").get("street_centre_floor")
    assert puyang is not None
    assert puyang.source == (
        "中共濮阳市委办公室、濮阳市人民政府办公室《关于加强养老服务体系建设的实施意见》"
        "（濮办〔2021〕20号）"
    )
    kaifeng = load_rules("henan/kaifeng").get("street_centre_floor")
    assert kaifeng is not None
    assert '《开封市加快养老服务"六大体系"建设实施方案》（汴政〔2022〕2号）' in kaifeng.source
    national = load_rules("national").get("land_per_capita")
    assert national is not None
    assert national.source.startswith("《城镇老年人设施规划规范》GB 50437-2007（2018年版）3.2.1A")


def test_rules_list_prints_citations_and_confidence_in_chinese() -> None:
    text = format_rules(load_rules("henan/puyang"))
    assert "seed" not in text
    assert "依据：中共濮阳市委办公室、濮阳市人民政府办公室《关于加强养老服务体系建设" in text
    assert "可信度：政策原文" in text
    assert "可信度：待核实" in text  # 建标143-2010, from memory
    assert "可信度：国家标准" in format_rules(load_rules("national"))


# 2. report.xlsx reads as Chinese


def test_status_and_solver_in_chinese_unknown_words_pass_through() -> None:
    assert status_zh("Optimal (proven by the Lagrangian bound)") == "最优（拉格朗日界证明）"
    assert status_zh("Heuristic; gap certified by the LP bound") == "启发式（差距由LP界证明）"
    assert status_zh("Time limit reached") == "达到时间限制"
    assert (
        status_zh(
            "Heuristic; gap certified by a Lagrangian bound; search stopped by the time limit "
            "after 3 of 2000 rounds"
        )
        == "启发式（差距由拉格朗日界证明）；达到时间限制，搜索完成 3/2000 轮"
    )
    assert status_zh("Something HiGHS adds later") == "Something HiGHS adds later"
    assert solver_zh("HiGHS 1.16.0 branch and cut (warm start: the fast search)") == (
        "HiGHS 1.16.0 分支切割法（热启动：快速搜索）"
    )
    greedy = solver_zh(
        "greedy + iterated swap search (2000 rounds, seed 0); Lagrangian bound from "
        "subgradient (30 steps) and HiGHS LP duals (Optimal)"
    )
    assert not re.search(r"[A-Za-z]{4,}", greedy.replace("HiGHS", "")), greedy


def test_report_xlsx_speaks_chinese_and_shows_percentages(demo_out: Path) -> None:
    sheets = pd.read_excel(demo_out / "report.xlsx", sheet_name=None)
    summary = sheets["概要"].set_index("项目")["数值"]
    assert summary["模型状态"] == "已证明最优"  # the demo's small model: HiGHS alone
    assert summary["步行速度依据"] == "情景文件设定：1 米/秒"
    assert summary["求解器"].startswith("HiGHS ")
    assert "（热启动：贪心解）" in summary["求解器"]
    assert set(sheets["规则达标"]["是否达标"]) <= {"达标", "未达标", "无数据"}
    assert set(sheets["规则达标"]["可信度"]) <= {"政策原文", "国家标准", "二手资料", "待核实"}
    assert not sheets["规则达标"]["依据"].str.contains("seed").any()
    assert set(sheets["社区村覆盖"]["规划后状态"]) == {"全覆盖", "部分覆盖", "未覆盖"}
    book = openpyxl.load_workbook(demo_out / "report.xlsx")
    overview = {r[0].value: r[1] for r in book["概要"].iter_rows(min_row=2)}
    assert overview["规划后覆盖率"].number_format == "0.0%"
    assert 0 < overview["规划后覆盖率"].value < 1
    ws = book["社区村覆盖"]
    header = [c.value for c in ws[1]]
    col = header.index("规划后覆盖率") + 1
    assert {ws.cell(row=k, column=col).number_format for k in range(2, ws.max_row + 1)} == {"0.0%"}


def test_csvs_keep_the_english_codes(demo_out: Path) -> None:
    comp = pd.read_csv(demo_out / "compliance.csv", encoding="utf-8-sig")
    assert set(comp["confidence"]) <= {"seed", "std", "2nd", "unverified", "scenario"}
    assert set(comp["pass"].dropna()) <= {True, False}
    comm = pd.read_csv(demo_out / "coverage_by_community.csv", encoding="utf-8-sig")
    assert set(comm["status_after"]) == {"covered", "partly covered", "uncovered"}


# 3. figures as printed


def test_csv_floats_carry_no_noise(demo_out: Path) -> None:
    for path in sorted(demo_out.glob("*.csv")):
        text = path.read_text(encoding="utf-8-sig")
        assert not re.search(r"\d\.\d*(0000000|9999999)\d", text), path.name


def test_new_sites_add_up_to_the_printed_gain(demo_summary: dict) -> None:
    s = demo_summary
    gain = round(s["covered_after"]["elderly"] * 10) - round(s["covered_before"]["elderly"] * 10)
    tenths = [round(x["newly_covered"] * 10) for x in s["new_sites"]]
    assert all(
        abs(x["newly_covered"] * 10 - t) < 1e-6 for x, t in zip(s["new_sites"], tenths, strict=True)
    )
    assert sum(tenths) == gain
    assert round(s["model"]["newly_covered"] * 10) == gain


def test_largest_remainder_rounding() -> None:
    got = _tenths_adding_up(np.array([1.04, 1.04, 1.04]), 3.2)  # plain rounding: 3.0
    assert list(got) == [1.1, 1.1, 1.0]
    assert list(_tenths_adding_up(np.array([0.26, 0.14]), 0.4)) == [0.3, 0.1]
    assert list(_tenths_adding_up(np.array([0.3, 0.3]), 0.5)) == [0.3, 0.2]  # gives back
    assert len(_tenths_adding_up(np.array([]), 0.0)) == 0


# 4. no HiGHS banner


def test_highs_prints_no_banner_on_stdout() -> None:
    code = (
        "import numpy as np, highspy\n"
        "from siting.models import _highs\n"
        "h = highspy.Highs(); h.silent()\n"
        "from scipy import sparse\n"
        "lp = _highs.build(sparse.csc_matrix(np.ones((1, 2))), np.array([1.0, 1.0]),"
        " np.zeros(2), np.ones(2), np.array([1.0]), np.array([2.0]),"
        " np.array([True, True]), maximize=False)\n"
        "print(_highs.run(lp, time_limit_s=5).status, _highs.version())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.startswith("Optimal HiGHS ")
    assert "Running HiGHS" not in done.stdout
    assert "Copyright" not in done.stdout
    assert len(done.stdout.strip().splitlines()) == 1


# 5. the CLI summary, as the README shows it


def test_readme_demo_block_is_what_the_cli_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["run", str(ROOT / "scenarios" / "demo.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.replace(f"{out}/", "maps/demo/")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"prints:\n\n```\n(.+?)```\n", readme, re.S)
    assert block is not None
    assert block.group(1) == printed
    assert printed.startswith("情景 demo：60岁以上老人 96,615 人")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert f"{summary['covered_after']['elderly']:,.0f} 人" in printed


def test_compare_xlsx_status_in_chinese_csv_keeps_the_model_words() -> None:
    from siting.outputs.comparison import _for_readers

    frame = pd.DataFrame(
        {"a": ["Optimal (proven by the LP bound)", 3], "b": ["Heuristic", 4]},
        index=["model_status", "new_sites"],
    )
    shown = _for_readers(frame)
    assert list(shown.loc["模型状态"]) == ["最优（LP界证明）", "启发式（未证明最优）"]
    assert list(shown.loc["新建站点（处）"]) == [3, 4]
    assert frame.loc["model_status", "a"] == "Optimal (proven by the LP bound)"


def test_map_rule_popups_cite_every_rule_by_title_and_number(demo_result) -> None:
    """The compliance layer: the tooltip summarises, a click opens each rule's citation (the
    document's official title and number) with its confidence in Chinese."""
    import html

    from siting._tiles import provider, shifter
    from siting.outputs.webmap import page as maps

    group = maps._compliance_layer(demo_result, shifter(provider("osm").coord_system))
    (layer,) = group._children.values()
    props = [f["properties"] for f in layer.data["features"]]
    comp = demo_result.compliance
    for p in props:
        pop = html.unescape(p["pop"])
        unit = re.search(r"（(\d+)）", pop)
        assert unit is not None
        sources = comp.loc[comp["unit"] == unit.group(1), "source"].unique()
        assert len(sources)
        for source in sources:
            assert source in pop
        assert "seed" not in pop
    assert any("濮办〔2021〕20号" in html.unescape(p["pop"]) for p in props)
