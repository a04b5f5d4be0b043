"""Text from data is inert (DESIGN.md): the escaping functions, the sources that must use them,
and the map, tables, workbooks and comparison of a run whose every name is hostile.

The hostile names come from ``tests/data/hostile`` (generated from the demo run); the same
names are opened in Chromium by ``tests/test_browser.py``.
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from jinja2.utils import htmlsafe_json_dumps

from siting._record import Note
from siting._text import (
    csv_cell,
    csv_frame,
    html_table,
    html_text,
    read_csv_cell,
    read_csv_frame,
    script_json,
    text_cells,
)
from siting.io.write import write_csv
from tests.data.hostile import ALL_MARKERS, DESCRIPTION, FACILITY_TYPE, hostile_result

ROOT = Path(__file__).resolve().parents[1]
RAW_HTML = ("</script><img", "<img src=x", "<img/src", "<b>bold(4)")  # hostile, unescaped


# -- the functions -------------------------------------------------------------------------


def test_html_text_escapes_markup_and_quotes() -> None:
    assert html_text("<a href='x'>\"&\"</a>") == (
        "&lt;a href=&#x27;x&#x27;&gt;&quot;&amp;&quot;&lt;/a&gt;"
    )
    assert html_text(12.5) == "12.5"
    table = html_table([("<k>", "=1"), ("n", 3)])
    assert "&lt;k&gt;" in table
    assert "<k>" not in table


@pytest.mark.parametrize(
    "value",
    [
        "</script><script>alert(1)</script>",
        "<!-- x -->",
        "a&b",
        "line\u2028sep\u2029para",
        "`${alert(1)}`",
        '"quoted" \\ back',
        {"nested": ["</SCRIPT>", 1, None, -2.5, True]},
    ],
)
def test_script_json_is_inert_in_a_script_and_round_trips(value: object) -> None:
    text = script_json(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert json.loads(text) == value


def test_script_json_takes_numpy_scalars_and_refuses_nan() -> None:
    assert script_json({"n": np.int64(3), "x": np.float64(0.5)}) == '{"n": 3, "x": 0.5}'
    with pytest.raises(ValueError, match="JSON"):
        script_json(math.nan)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),  # quoted again, so reading it back gives the same text
        ("'plain", "'plain"),
        ("幸福社区", "幸福社区"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (-2.5, -2.5),
        (np.float64(-1.0), np.float64(-1.0)),
        (None, None),
    ],
)
def test_csv_cells_are_neutralised_and_read_back(value: object, written: object) -> None:
    assert csv_cell(value) == written
    assert read_csv_cell(csv_cell(value)) == value


def test_csv_frame_leaves_numbers_and_reads_back(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "name": ["=1+1", "普通", "@x", None],
            "=col": ["-a", "b", "c", "d"],
            "n": [-1.5, 2.0, -3.0, 4.0],
            "k": [-1, 2, 3, 4],
        }
    )
    out = csv_frame(frame)
    assert list(out.columns) == ["name", "'=col", "n", "k"]
    assert out["name"].tolist()[:3] == ["'=1+1", "普通", "'@x"]
    assert out["n"].tolist() == frame["n"].tolist()
    assert read_csv_frame(out).equals(frame)
    path = write_csv(tmp_path / "t.csv", frame)
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "name,'=col,n,k"
    assert "'=1+1,'-a,-1.5,-1" in text  # a negative number stays a number
    back = read_csv_frame(pd.read_csv(path, encoding="utf-8-sig"))
    assert back["name"].tolist()[:3] == ["=1+1", "普通", "@x"]
    assert back["=col"].tolist() == ["-a", "b", "c", "d"]


def test_text_cells_make_formulas_text(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(['=HYPERLINK("http://evil","x")', "+1", "@SUM(A1)", "plain", -3])
    assert ws["A1"].data_type == "f"  # what openpyxl does with a leading =
    assert text_cells(book) == 3
    book.save(tmp_path / "t.xlsx")
    cells = next(openpyxl.load_workbook(tmp_path / "t.xlsx").active.iter_rows())
    assert [c.value for c in cells] == [
        '=HYPERLINK("http://evil","x")',
        "+1",
        "@SUM(A1)",
        "plain",
        -3,
    ]
    assert [c.data_type for c in cells] == ["s", "s", "s", "s", "n"]


# -- the sources: no way around the module --------------------------------------------------


def _sources() -> list[Path]:
    return sorted((ROOT / "siting").rglob("*.py"))


def test_no_template_literal_tooltips_or_popups_in_the_sources() -> None:
    """folium's Tooltip, Popup and string ``tooltip=``/``popup=`` put their text into a JS
    template literal; only GeoJsonTooltip/GeoJsonPopup (data as JSON) may be used."""
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in {"Tooltip", "Popup", "DivIcon", "Marker", "CircleMarker", "Html", "IFrame"}:
                found.append(f"{path.name}:{node.lineno} {name}(...)")
            # branca compiles an Element's first argument as a Jinja template: text built from
            # data must never be one (siting.outputs.webmap.offline.PageHtml renders it through a
            # fixed template)
            if name == "Element" and (node.args or any(k.arg == "template" for k in node.keywords)):
                found.append(f"{path.name}:{node.lineno} Element(template)")
            for kw in node.keywords:
                if kw.arg in {"tooltip", "popup"}:
                    value = kw.value
                    callee = isinstance(value, ast.Call) and getattr(value.func, "attr", "")
                    if callee not in {"GeoJsonTooltip", "GeoJsonPopup"}:
                        found.append(f"{path.name}:{node.lineno} {kw.arg}=")
    assert found == []


def test_escaping_lives_in_one_module() -> None:
    """``html.escape`` and hand-made JSON-in-script only in siting/_text.py."""
    found = []
    for path in _sources():
        if path.name == "_text.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"^import html$|^from html import|html\.escape\(", text, re.M):
            found.append(path.name)
    assert found == []


# -- a run with hostile names -----------------------------------------------------------------

NOTE = Note("hostile_note", "<img src=x onerror=alert(5)> 检查 =1", ("=1",))


@pytest.fixture(scope="module")
def hostile(demo_result):
    return hostile_result(demo_result, notes=(NOTE,))


def _split_js(js: str) -> tuple[str, list[str]]:
    """A script's code with its double-quoted strings cut out, and those strings decoded.

    Single-quoted strings and template literals stay in the code: data must never be in them.
    Enough of JavaScript for folium's generated code and siting's own (no regex literals).
    """
    dq = re.compile(r'"(?:[^"\\\n]|\\.)*"')
    sq = re.compile(r"'(?:[^'\\\n]|\\.)*'")
    code: list[str] = []
    strings: list[str] = []
    i = 0
    while i < len(js):
        c = js[i]
        if c == '"':
            m = dq.match(js, i)
            assert m, f"unterminated string at {js[i : i + 80]!r}"
            strings.append(json.loads(m.group()))
            code.append('""')
            i = m.end()
        elif c == "'":
            m = sq.match(js, i)
            assert m, f"unterminated string at {js[i : i + 80]!r}"
            code.append(m.group())
            i = m.end()
        elif c == "`":  # a template literal, kept whole as code
            j, depth = i + 1, 0
            while js[j] != "`" or depth:
                if js[j] == "\\":
                    j += 1
                elif js.startswith("${", j):
                    depth += 1
                    j += 1
                elif js[j] == "}" and depth:
                    depth -= 1
                j += 1
            code.append(js[i : j + 1])
            i = j + 1
        elif js.startswith("//", i):
            i = js.find("\n", i) if "\n" in js[i:] else len(js)
        elif js.startswith("/*", i):
            i = js.index("*/", i) + 2
        else:
            code.append(c)
            i += 1
    return "".join(code), strings


def assert_inert_page(page: str) -> None:
    """Every hostile name in ``page`` is data: in a script only inside a JSON string holding
    escaped HTML, elsewhere only as escaped HTML text."""
    for raw in RAW_HTML:
        assert raw not in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)
    seen = 0
    for script in scripts:
        if not any(m in script for m in ALL_MARKERS):
            continue  # Leaflet, jQuery, folium's settings: no data
        code, strings = _split_js(script)
        assert [m for m in ALL_MARKERS if m in code] == []  # never in code or a template
        for s in strings:
            if any(m in s for m in ALL_MARKERS):
                seen += 1
                assert not any(raw in s for raw in RAW_HTML), s[:200]
    assert seen > 0
    for gone in ("bindTooltip(`", "bindPopup(`", "$(`"):
        assert gone not in page


def test_hostile_names_stay_data_in_the_map(hostile) -> None:
    from siting.outputs.tables import tables
    from siting.outputs.webmap import page as maps

    page = maps.build_map(hostile, tables(hostile)["proposed_sites"]).get_root().render()
    assert_inert_page(page)
    # the names are there, escaped: in tooltips (JSON) and in the layer control's names
    assert "\\u0026lt;/script\\u0026gt;\\u0026lt;img src=x onerror=alert(2)\\u0026gt;" in page
    # HTML-escaped (braces as character references), then JSON-escaped (& as \u0026)
    assert "$\\u0026#123;alert(1)\\u0026#125;" in page
    assert "{{ 7*191 }}" not in page  # no Jinja delimiter from data survives into the page
    assert "1337tmpl(7)" not in page  # and none was evaluated
    assert "`+alert(6)+`" in page
    layer = html_text(f"现有：{FACILITY_TYPE}（2，仅计用地）")
    assert str(htmlsafe_json_dumps(layer)) in page  # as folium writes the layer control's keys
    # the run's recorded warnings are notes in the legend, escaped
    assert "<b>注意</b>" in page
    assert html_text(NOTE.message) in page
    # one GeoJSON per layer, not one script per marker
    assert page.count("bindTooltip(") < 20


def test_legend_notes_are_short() -> None:
    from siting.outputs.webmap.legend import MAX_NOTES, _notes

    assert _notes(()) == ""
    many = tuple(Note("n", f"<i>{i}</i>") for i in range(MAX_NOTES + 3))
    html = _notes(many)
    assert html.count("<li>") == MAX_NOTES + 1
    assert "另有 3 条" in html
    assert "<i>" not in html


def test_hostile_names_are_text_in_tables_and_workbook(hostile, tmp_path: Path) -> None:
    from siting.outputs import tables as report
    from siting.outputs import workbook

    report.write(hostile, tmp_path)
    workbook.write_xlsx(hostile, tmp_path / "report.xlsx")
    names = hostile.communities["name"]
    formula = next(n for n in names if n.startswith("="))
    plus = next(n for n in names if n.startswith("+"))
    at = next(n for n in names if n.startswith("@"))
    minus = next(n for n in names if n.startswith("-"))
    table = pd.read_csv(tmp_path / "coverage_by_community.csv", encoding="utf-8-sig")
    for name in (formula, plus, at, minus):
        assert "'" + name in set(table["name"])  # as the file holds it: neutralised
    assert table["name"].str.startswith(("=", "+", "@", "-")).sum() == 0
    assert read_csv_frame(table)["name"].tolist() == names.tolist()
    assert table["elderly"].dtype.kind in "if"  # numbers untouched
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    cells = {c.value: c for row in book["社区村覆盖"].iter_rows() for c in row}
    for name in (formula, plus, at, minus):
        assert cells[name].data_type == "s"
    summary = {r[0].value: r[1] for r in book["概要"].iter_rows()}
    assert summary["说明"].value == DESCRIPTION
    assert summary["说明"].data_type == "s"
    formulas = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in formulas if c.data_type == "f"] == []


def test_compare_of_hostile_runs_is_inert(hostile, tmp_path: Path) -> None:
    from siting.outputs import tables as report
    from siting.outputs.comparison import compare

    runs = []
    for label in ("a", "b"):
        folder = tmp_path / label
        report.write(hostile, folder)
        runs.append(folder)
    summary = json.loads((runs[1] / "summary.json").read_text(encoding="utf-8"))
    summary["scenario"] = '=HYPERLINK("http://evil","b")<img src=x onerror=alert(2)>'
    (runs[1] / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), "utf-8")
    out = compare(runs, tmp_path / "cmp")
    assert_inert_page(out["map"].read_text(encoding="utf-8"))
    page = out["html"].read_text(encoding="utf-8")
    assert "<img" not in page
    assert html_text(summary["scenario"]) in page
    table = pd.read_csv(out["csv"], encoding="utf-8-sig")
    assert list(table.columns) == ["measure", "demo", "'" + summary["scenario"]]
    book = openpyxl.load_workbook(out["xlsx"])
    header = list(next(book.active.iter_rows()))
    assert header[-1].value == summary["scenario"]
    assert header[-1].data_type == "s"
    # the names were read back from the CSVs as the names, not as '=...
    comm = pd.read_csv(runs[0] / "coverage_by_community.csv", encoding="utf-8-sig")
    assert comm["name"].str.startswith("'").any()
    from siting.outputs.comparison import _load_run

    assert (
        _load_run(runs[0])["communities"]["name"].tolist() == hostile.communities["name"].tolist()
    )


def test_hostile_fixture_changes_every_name(hostile, demo_result) -> None:
    assert not set(hostile.communities["name"]) & set(demo_result.communities["name"])
    assert not set(hostile.inputs.facilities["name"]) & set(demo_result.inputs.facilities["name"])
    assert (hostile.inputs.facilities["type"] == FACILITY_TYPE).any()
    assert hostile.warnings == (NOTE,)


def test_a_name_cannot_run_code_when_the_map_is_written(demo_result, tmp_path: Path) -> None:
    """folium/branca render every element's output again as a Jinja template: a name holding
    ``{{ … }}`` once ran Python (found by an adversarial test: it created a folder)."""
    import dataclasses

    from siting.outputs.tables import tables
    from siting.outputs.webmap import page as maps

    marker = tmp_path / "PWNED_BY_NAME"
    evil = "和谐社区{{ cycler.__init__.__globals__.os.makedirs('" + marker.as_posix() + "') }}"
    code = demo_result.communities["code"].iloc[0]
    comm = demo_result.communities.copy()
    comm.loc[comm["code"] == code, "name"] = evil
    layers = demo_result.inputs.communities.copy()
    layers.loc[code, "name"] = evil
    res = dataclasses.replace(
        demo_result,
        communities=comm,
        inputs=dataclasses.replace(demo_result.inputs, communities=layers),
        scenario=demo_result.scenario.model_copy(update={"name": "demo{{ 'EV' ~ 'ALED' }}"}),
    )
    page = maps.write_map(res, tables(res)["proposed_sites"], tmp_path / "map.html")
    text = page.read_text(encoding="utf-8")
    assert not marker.exists()
    assert "EVALED" not in text  # the scenario name's expression was not evaluated either
    assert "makedirs" in text  # the name is there, as text


def test_a_carriage_return_in_a_name_keeps_its_row(tmp_path: Path) -> None:
    from siting._text import read_csv_frame
    from siting.io.write import write_csv

    names = ["\r=2+2社区", "和谐\r社区", "新\n村", "普通社区"]
    path = write_csv(tmp_path / "t.csv", pd.DataFrame({"name": names, "elderly": [1, 2, 3, 4]}))
    back = read_csv_frame(pd.read_csv(path, encoding="utf-8-sig"))
    assert back["name"].tolist() == names  # four rows, each whole, each name as it was
    assert back["elderly"].tolist() == [1, 2, 3, 4]
    assert "'\r=2+2" in path.read_bytes().decode("utf-8-sig")  # and no live formula
