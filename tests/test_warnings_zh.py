"""Recorded warnings in Chinese (issue 14): every ``warn()`` of the package gives a Chinese text
(``zh=``), and the documents people read show it, not the English one: the command line's
summary (under 警告 N 条), report.xlsx's 注意事项 sheet and the map legend's notes.
``summary.json`` keeps the English ``message`` for scripts and adds ``message_zh`` beside it.

The runs: the mini district with a facility mid-block (site_far_from_network), the bureau
example with its 社区/村 as points (numbered ids, no land, derived cells, parcels, total rows),
and the Jinan example when ../shared/data/jinan is there (skipped otherwise).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from siting._record import Note, recording, warn
from siting._text import html_text
from siting.cli import main
from siting.outputs.webmap.legend import MAX_NOTES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "siting"
MINI = ROOT / "tests" / "data" / "reliability" / "mini"
FAR = ROOT / "tests" / "data" / "reliability" / "geometry" / "facilities_far_from_network.csv"
JINAN = ROOT.parent / "shared" / "data" / "jinan"
CJK = re.compile(r"[\u4e00-\u9fff]")


# -- the source: every call gives zh= ----------------------------------------------------------


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    """Every call of ``name`` (a bare name or ``x.name``, never ``warnings.warn``) in the
    package's source."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (
                isinstance(f, ast.Attribute)
                and f.attr == name
                and not (isinstance(f.value, ast.Name) and f.value.id == "warnings")
            ):
                found.append((path, node))
    return found


def _zh_problem(value: ast.expr | None) -> str:
    """What is wrong with a call's Chinese text ('' when nothing): missing, empty, or written
    without a single Chinese character in its literal parts."""
    if value is None:
        return "no zh="
    texts = [
        n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    if isinstance(value, ast.Constant) and not value.value:
        return "an empty zh="
    if texts and not any(CJK.search(t) for t in texts):  # a name passed on (zh=n.message_zh) is
        return "a zh= with no Chinese in it"  # checked where it was written
    return ""


def _without_chinese(calls: list[tuple[Path, ast.Call]], keyword: str) -> list[str]:
    """``path:line: problem`` for each call whose ``keyword`` text is missing or not Chinese."""
    bad = []
    for path, call in calls:
        zh = next((k.value for k in call.keywords if k.arg == keyword), None)
        if problem := _zh_problem(zh):
            bad.append(f"{path.relative_to(ROOT)}:{call.lineno}: {problem}")
    return bad


def test_every_warn_call_gives_a_chinese_text() -> None:
    calls = _calls("warn")
    assert len(calls) >= 30, "the scan found too few warn() calls: is it looking at the package?"
    bad = _without_chinese(calls, "zh")
    assert not bad, "warn() without its Chinese text:\n" + "\n".join(bad)


def test_every_warning_finding_gives_a_chinese_text() -> None:
    """The input checks' warnings (siting/inputs/checks.py) reach the documents through
    ``Finding.message_zh``."""
    findings = [
        (path, call)
        for path, call in _calls("Finding")
        if path == PACKAGE / "inputs" / "checks.py"
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value == "warning"
    ]
    assert len(findings) >= 4
    bad = _without_chinese(findings, "message_zh")
    assert not bad, "warning findings without their Chinese text:\n" + "\n".join(bad)


def test_the_scan_sees_a_call_without_zh() -> None:
    """The checks above can fail: a call without zh=, or with English in it, is caught."""
    tree = ast.parse("warn('x', 'msg', ids)\nwarn('x', 'msg', zh='the same in English')\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    problems = [
        _zh_problem(next((k.value for k in c.keywords if k.arg == "zh"), None)) for c in calls
    ]
    assert problems == ["no zh=", "a zh= with no Chinese in it"]


def test_a_note_keeps_both_texts_and_documents_read_the_chinese() -> None:
    with recording() as rec:
        warn("some_code", "3 sites far", ["A"], zh="3 个站点较远")
    (note,) = rec.notes
    assert note == Note("some_code", "3 sites far", ("A",), "3 个站点较远")
    assert note.text == "3 个站点较远"
    assert note.as_dict() == {
        "code": "some_code",
        "message": "3 sites far",
        "message_zh": "3 个站点较远",
        "ids": ["A"],
    }
    assert Note("old", "English only").text == "English only"  # a note made without zh
    with pytest.warns(UserWarning, match="3 sites far"):  # a library user sees the English
        warn("some_code", "3 sites far", zh="3 个站点较远")


# -- real runs: the documents ------------------------------------------------------------------


def assert_chinese_documents(out: Path, printed: str) -> list[dict[str, object]]:
    """The run in ``out`` (its summary printed as ``printed``) shows every warning in Chinese
    and nowhere in English, except summary.json's ``message``; returns the warnings."""
    notes = json.loads((out / "summary.json").read_text(encoding="utf-8"))["warnings"]
    assert notes, "the run was meant to produce warnings"
    for n in notes:
        assert list(n) == ["code", "message", "message_zh", "ids"]
        assert CJK.search(n["message_zh"]), n["code"]
        assert n["message_zh"] != n["message"], n["code"]
        assert "in all)" not in n["message_zh"], n["code"]  # a cut list of ids, in English
    # the command line: 警告 N 条, each line the Chinese text
    assert f"警告 {len(notes)} 条" in printed
    for n in notes:
        assert f"! [{n['code']}] {n['message_zh']}" in printed, n["code"]
        assert n["message"] not in printed, n["code"]
    # report.xlsx, 注意事项: one row per warning, in Chinese
    sheet = pd.read_excel(out / "report.xlsx", sheet_name="注意事项", dtype=str)
    assert sheet["代码"].tolist() == [n["code"] for n in notes]
    assert sheet["说明"].tolist() == [n["message_zh"] for n in notes]
    # the map legend's notes: the first ones in Chinese, none in English
    page = (out / "map.html").read_text(encoding="utf-8")
    for n in notes[:MAX_NOTES]:
        assert html_text(n["message_zh"]) in page, n["code"]
    for n in notes:
        assert html_text(n["message"]) not in page, n["code"]
    if len(notes) > MAX_NOTES:
        assert f"另有 {len(notes) - MAX_NOTES} 条" in page
    return notes


def test_mini_run_far_from_the_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    shutil.copy(FAR, folder / "facilities.csv")
    scenario = folder / "with_map.yaml"  # the mini scenario draws no map: this one does
    scenario.write_text("base: scenario.yaml\noutput: {map: true}\n", encoding="utf-8")
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 0
    notes = assert_chinese_documents(tmp_path / "out", capsys.readouterr().out)
    far = next(n for n in notes if n["code"] == "site_far_from_network")
    # the same figures as the English: the id and the distance
    assert "'F1'" in far["message_zh"]
    distance = re.search(r"distances \[(\d+)\] m", str(far["message"]))
    assert distance
    assert f"距离 [{distance[1]}] 米" in far["message_zh"]


def test_bureau_points_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = ROOT / "scenarios" / "examples" / "bureau_points.yaml"
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 0
    notes = assert_chinese_documents(tmp_path / "out", capsys.readouterr().out)
    by_code = {n["code"]: n for n in notes}
    assert {
        "ids_generated",
        "facilities_without_land",
        "community_cells_derived",
        "candidate_sites_on_parcels",
    } <= set(by_code)
    ids = by_code["ids_generated"]
    assert "F0001–F0030" in ids["message"]
    assert "F0001–F0030" in ids["message_zh"]  # the same ids as the English
    assert "30 个现有设施" in ids["message_zh"]
    land = by_code["facilities_without_land"]
    assert "(30 in all)" in land["message"]
    assert "……（共 30 个）" in land["message_zh"]  # the cut list of ids, in Chinese
    cells = by_code["community_cells_derived"]
    count = re.search(r"(\d+) cells were derived", str(cells["message"]))
    assert count
    assert f"已生成 {count[1]} 个单元" in cells["message_zh"]
    assert "社区/村" in cells["message_zh"]


@pytest.mark.skipif(
    not (JINAN / "road_edges.shp").exists(), reason="../shared/data/jinan is not available"
)
def test_jinan_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real road network: its warnings (a road layer split at junctions, a district on main
    roads only) in Chinese. Slow (about a minute): the whole pipeline on 28,000 road lines."""
    import runpy

    example = runpy.run_path(str(ROOT / "examples" / "jinan.py"))
    out = tmp_path / "jinan"
    assert example["main"]([str(JINAN), "--out", str(out)]) == 0
    notes = assert_chinese_documents(out, capsys.readouterr().out)
    split = next(n for n in notes if n["code"] == "road_layer_split_at_junctions")
    lines = re.search(r"([\d,]+) lines -> ([\d,]+) pieces", str(split["message"]))
    assert lines
    assert f"{lines[1]} 条线 -> {lines[2]} 段" in split["message_zh"]
