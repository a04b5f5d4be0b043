"""report.xlsx, the workbook a bureau hands round: a 摘要 sheet of the figures that matter, one
sheet per table with Chinese headers and the decimals each column needs, the 2SFCA sheet with its
chart, and the run's warnings in Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from siting._text import text_cells
from siting.analysis import access as equity
from siting.analysis.curve import CURVE_BASIS_ZH
from siting.analysis.inequality import gini_zh, lorenz
from siting.analysis.supply import capacity_zh
from siting.io.write import write_workbook
from siting.models import PLAN_STATUS
from siting.outputs.labels_zh import (
    _DECAY_ZH,
    HEADERS,
    MODEL_ZH,
    STATUS_AFTER_ZH,
    _source_zh,
    pass_zh,
    solver_zh,
    status_zh,
)
from siting.outputs.tables import summary, tables
from siting.results import RunData
from siting.rules.book import CONFIDENCE_ZH
from siting.scenario import speed_source_zh

SHEETS = (
    ("coverage_by_unit", "街道乡镇覆盖"),
    ("coverage_by_community", "社区村覆盖"),
    ("proposed_sites", "建议新建站点"),
    ("compliance", "规则达标"),
    ("land_check", "用地核查"),
)


def _for_readers(frame: pd.DataFrame) -> pd.DataFrame:
    """A table's codes as a reader of the spreadsheet reads them (the CSV keeps the codes)."""
    out = frame.copy()
    if "confidence" in out:
        out["confidence"] = [CONFIDENCE_ZH.get(str(v), str(v)) for v in out["confidence"]]
    if "pass" in out:
        out["pass"] = [pass_zh(v) for v in out["pass"]]
    if "status_after" in out:
        out["status_after"] = [STATUS_AFTER_ZH.get(str(v), str(v)) for v in out["status_after"]]
    if "unit" in out:  # the land check's district row
        out["unit"] = ["合计" if str(v) == "total" else v for v in out["unit"]]
    return out


PERCENT_COLUMNS = ("share_before", "share_after")


_PERCENT_ROWS = ("规划前覆盖率", "规划后覆盖率", "容量内服务率", "最优性差距")


def _summary_rows(s: dict[str, Any], age_label: str) -> pd.DataFrame:
    rows = [
        ("情景", s["scenario"]),
        ("说明", s["description"]),
        ("步行速度 (m/s)", s["walk_speed_mps"]),
        ("步行速度依据", speed_source_zh(s.get("walk_speed_preset"), s["walk_speed_mps"])),
        ("一刻钟服务半径 (m)", s["urban_radius_m"]),
        ("一公里服务半径 (m)", s["rural_radius_m"]),
        ("老年人口口径", age_label),
        (f"{age_label}老人", s["elderly_total"]),
        ("规划前覆盖 (人)", s["covered_before"]["elderly"]),
        ("规划前覆盖率", s["covered_before"]["share"]),
        ("规划后覆盖 (人)", s["covered_after"]["elderly"]),
        ("规划后覆盖率", s["covered_after"]["share"]),
        *(
            [
                ("其中容量内服务 (人)", s["served"]["elderly"]),
                ("容量内服务率", s["served"]["share"]),
                ("服务圈内但超出容量 (人)", s["over_capacity"]["elderly"]),
            ]
            if "served" in s
            else []
        ),
        ("任何候选点均无法覆盖 (人)", s["uncoverable"]["elderly"]),
        ("新建站点数", len(s["new_sites"])),
        (
            "模型",
            "无：会议方案，站点由情景的 plan 指定"
            if s["model"]["status"] == PLAN_STATUS
            else MODEL_ZH.get(s["model"]["name"], s["model"]["name"]),
        ),
        ("模型状态", status_zh(s["model"]["status"])),
        ("最优性差距", s["model"]["gap"]),
        ("求解器", solver_zh(s["model"]["solver"])),
        ("规则集", s["rules"]["set"]),
        ("规则检查项", s["compliance_checks"]),
        ("未达标项", s["compliance_failures"]),
        ("无数据项", s["compliance_no_data"]),
        ("分析坐标系", s["analysis_crs"]),
    ]
    return pd.DataFrame(rows, columns=["项目", "数值"])


def _notes_sheet(res: RunData) -> pd.DataFrame:
    """The run's recorded warnings, one row each, in Chinese (``message_zh``; the English
    ``message`` stays in summary.json); an empty sheet says there were none."""
    return pd.DataFrame(
        [{"代码": n.code, "说明": n.text, "涉及编号": "、".join(n.ids)} for n in res.warnings]
        or [{"代码": "", "说明": "本次运行无警告", "涉及编号": ""}]
    )


def write_xlsx(res: RunData, path: Path) -> Path:
    """``report.xlsx``: a summary sheet and one sheet per table, with Chinese headers.

    A name beginning with ``= + - @`` is a text cell showing exactly the name, never a formula
    (:func:`siting._text.text_cells`).
    """
    tabs = tables(res)
    s = summary(res, tabs)

    def fill(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            rows = _summary_rows(s, res.inputs.age_label)
            rows.to_excel(xl, sheet_name="概要", index=False)
            for k, label in enumerate(rows["项目"], start=2):  # row 1 holds the headers
                if label in _PERCENT_ROWS:
                    xl.book["概要"].cell(row=k, column=2).number_format = "0.0%"
            headers = {**HEADERS, "elderly": f"{res.inputs.age_label}老人"}
            for key, sheet in SHEETS:
                frame = _for_readers(tabs[key])
                frame.rename(columns=headers).to_excel(xl, sheet_name=sheet, index=False)
                for j, column in enumerate(frame.columns, start=1):
                    if column in PERCENT_COLUMNS:
                        for (cell,) in xl.book[sheet].iter_rows(min_row=2, min_col=j, max_col=j):
                            cell.number_format = "0.0%"
            if res.equity is not None:
                _equity_sheet(xl, s, res.equity, tabs["coverage_by_unit"])
            _notes_sheet(res).to_excel(xl, sheet_name="注意事项", index=False)
            text_cells(xl.book)
            for ws in xl.book.worksheets:
                for col in ws.columns:
                    width = max(len(str(c.value or "")) for c in list(col)[:200])
                    ws.column_dimensions[col[0].column_letter].width = min(max(8, width + 2), 60)
                ws.freeze_panes = "A2"

    return write_workbook(path, fill)


def _gini_cell(value: float | None) -> float | str:
    """A Gini in the sheet: the number, or why there is none."""
    return value if value is not None else gini_zh(None)


def _equity_sheet(
    xl: pd.ExcelWriter, s: dict[str, Any], eq: equity.Equity, units: pd.DataFrame
) -> None:
    """Sheet 公平性分析: Gini figures, worst-served units, the coverage curve and the Lorenz
    curves as tables, each curve also as an Excel chart."""
    from openpyxl.chart import Reference, ScatterChart, Series

    e = s["equity"]
    what, unit = capacity_zh(eq.supply.column)
    rows: list[list[Any]] = [
        ["项目", "数值"],
        ["分析单元", "街道/乡镇（老人数加权）"],
        ["规划前覆盖率基尼系数", _gini_cell(e["gini_before"])],
        ["规划后覆盖率基尼系数", _gini_cell(e["gini_after"])],
        ["规划前可及性基尼系数", _gini_cell(e.get("access_gini_before"))],
        ["规划后可及性基尼系数", _gini_cell(e.get("access_gini_after"))],
        ["可及性方法", f"两步移动搜索法（2SFCA），{_DECAY_ZH[eq.decay]}，服务圈即搜索半径"],
        ["供给口径", f"{what}（{unit}，列 {eq.supply.column}），每千名老人"],
        [
            "供给数据来源（站点数）",
            "、".join(
                f"{_source_zh(k)} {v} 处" for k, v in e.get("access_capacity_sources", {}).items()
            ),
        ],
    ]
    floor_at = len(rows) + 1
    if eq.floor is not None:
        rows.append(["每个街道/乡镇最低覆盖率要求", eq.floor])
        rows.append(
            ["规划后仍低于要求的街道/乡镇", "、".join(e["units_below_floor_after"]) or "无"]
        )
    rows += [
        [],
        ["覆盖率最低的街道/乡镇"],
        ["代码", "名称", "老人", "规划前覆盖率", "规划后覆盖率", "规划后未覆盖(人)"],
    ]
    worst_at = len(rows) + 1
    rows += [
        [
            u["code"],
            u["name"],
            u["elderly"],
            u["share_before"],
            u["share_after"],
            u["uncovered_after"],
        ]
        for u in e["worst_units"]
    ]
    curve_at = len(rows) + 4  # first data row: after a blank row, the title and the header
    rows += [
        [],
        [f"步行时间覆盖曲线（{CURVE_BASIS_ZH}）"],
        ["步行时间(分钟)", "步行距离(米)", "规划前比例", "规划后比例", "情景阈值"],
    ]
    for r in s["coverage_curve"]:
        rows.append([r["minutes"], r["metres"], r["share_before"], r["share_after"], None])
    marks = len(rows) + 1
    rows += [
        [eq.threshold_minutes, None, None, None, 0.0],
        [eq.threshold_minutes, None, None, None, 1.0],
    ]
    w = units["elderly"].to_numpy(dtype=float)
    lorenz_at = len(rows) + 4
    lz = {k: lorenz(units[f"share_{k}"].to_numpy(dtype=float), w) for k in ("before", "after")}
    rows += [
        [],
        ["洛伦兹曲线（街道/乡镇按覆盖率由低到高）"],
        [
            "规划前累计老人比例",
            "规划前累计覆盖比例",
            "规划后累计老人比例",
            "规划后累计覆盖比例",
            "绝对公平线",
        ],
    ]
    for (pb, cb), (pa, ca) in zip(lz["before"].to_numpy(), lz["after"].to_numpy(), strict=True):
        rows.append([round(float(v), 4) for v in (pb, cb, pa, ca, pb)])
    ws = xl.book.create_sheet("公平性分析")
    for row in rows:
        ws.append(row)
    percent: list[tuple[int, int, tuple[int, ...]]] = [
        (worst_at, worst_at + len(e["worst_units"]), (4, 5))
    ]
    percent += [(curve_at, marks + 2, (3, 4, 5)), (lorenz_at, len(rows) + 1, (1, 2, 3, 4, 5))]
    if eq.floor is not None:
        percent.append((floor_at, floor_at + 1, (2,)))
    for first, stop, columns in percent:
        for r in range(first, stop):
            for c in columns:
                ws.cell(row=r, column=c).number_format = "0.0%"
    n_curve = len(s["coverage_curve"])

    def scatter(title: str, x_title: str, y_title: str) -> ScatterChart:
        chart = ScatterChart()
        chart.title, chart.style, chart.height, chart.width = title, 13, 8, 14
        chart.x_axis.title, chart.y_axis.title = x_title, y_title
        chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 hides axes otherwise
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0.0, 1.0
        chart.y_axis.number_format = "0%"
        return chart

    chart = scatter("覆盖率随步行时间变化", "步行时间（分钟）", "老人比例")
    x = Reference(ws, min_col=1, min_row=curve_at, max_row=curve_at + n_curve - 1)
    for col in (3, 4):
        y = Reference(ws, min_col=col, min_row=curve_at - 1, max_row=curve_at + n_curve - 1)
        chart.series.append(Series(y, x, title_from_data=True))
    mark = Series(
        Reference(ws, min_col=5, min_row=marks, max_row=marks + 1),
        Reference(ws, min_col=1, min_row=marks, max_row=marks + 1),
        title=f"情景阈值 {eq.threshold_minutes:g} 分钟",
    )
    chart.series.append(mark)
    _straight(chart)
    ws.add_chart(chart, "H2")
    chart = scatter("街道/乡镇覆盖率洛伦兹曲线", "累计老人比例", "累计覆盖比例")
    chart.x_axis.scaling.min, chart.x_axis.scaling.max = 0.0, 1.0
    chart.x_axis.number_format = "0%"
    n_lz = len(lz["before"])
    for xc, yc in ((1, 2), (3, 4), (1, 5)):
        chart.series.append(
            Series(
                Reference(ws, min_col=yc, min_row=lorenz_at - 1, max_row=lorenz_at + n_lz - 1),
                Reference(ws, min_col=xc, min_row=lorenz_at, max_row=lorenz_at + n_lz - 1),
                title_from_data=True,
            )
        )
    _straight(chart)
    ws.add_chart(chart, "H20")


def _straight(chart: Any) -> None:
    """Straight segments between the computed points, each point marked (no smoothing that
    would draw values nobody computed)."""
    for series in chart.series:
        series.smooth = False
        series.marker.symbol = "circle"
