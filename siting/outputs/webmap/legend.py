"""The web map's legend box: the covered-share classes, the facility types, the sizes of the
uncovered bubbles, the walking speed and radius behind the figures, and the run's first
warnings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from siting._record import Note
from siting._text import html_text
from siting.models import Solution
from siting.outputs.style import (
    OTHER_COLOUR,
    PROPOSED_COLOUR,
    TYPE_COLOURS,
    UNCOVERED_COLOUR,
    share_legend,
)
from siting.outputs.webmap.layers import AREA_STYLES, DERIVED_CELLS
from siting.outputs.webmap.points import _uncovered, _uncovered_radius
from siting.results import RunData


def _swatch(css: str) -> str:
    return (
        f"<span style='display:inline-block;vertical-align:middle;margin-right:5px;{css}'></span>"
    )


LEGEND_WIDTH = 330


LEGEND_CSS = (
    "<style>#siting-legend summary{cursor:pointer;list-style-position:inside}"
    "#siting-legend[open] .siting-fold-closed,#siting-legend:not([open]) .siting-fold-open"
    "{display:none}#siting-legend .siting-row{margin:1px 0;white-space:nowrap}"
    "#siting-legend hr{margin:4px 0;border:0;border-top:1px solid #ccc}</style>"
)


def _legend(res: RunData, proposed: pd.DataFrame, note: str = "") -> str:
    from siting.outputs.labels_zh import status_zh

    sc, m = res.scenario, res.solution
    w = res.demand["weight"]
    total = float(w.sum())
    before = float((w * res.demand["covered_before"]).sum())
    after = float((w * res.demand["covered_after"]).sum())

    def row(swatch: str, text: str) -> str:
        return f"<div class='siting-row'>{swatch}{html_text(text)}</div>"

    bins = "".join(
        row(_swatch(f"background:{c};opacity:.75;width:16px;height:11px"), t)
        for c, t in share_legend(res)
    )
    dot = "border-radius:50%;border:1.5px solid #fff;box-shadow:0 0 1px #000;"
    kinds = "".join(
        row(_swatch(f"{dot}background:{c};width:10px;height:10px"), t)
        for t, c in TYPE_COLOURS.items()
    )
    areas = "".join(
        row(
            _swatch(
                f"width:22px;height:0;border-top:2.5px {'solid' if d is None else 'dashed'} {c}"
            ),
            n,
        )
        for n, c, d in AREA_STYLES.values()
    )
    per = _uncovered(res)
    sizes = ""
    if not per.empty:
        largest = float(per.max())
        circles = "".join(
            _swatch(
                f"width:{2 * r:.0f}px;height:{2 * r:.0f}px;border-radius:50%;"
                f"background:rgba(255,255,255,.45);border:2px solid {UNCOVERED_COLOUR};"
                "box-sizing:border-box"
            )
            + f"<span style='margin-right:8px'>{n:,.0f}</span>"
            for n in _round_steps(largest)
            for r in [_uncovered_radius(n, largest)]
        )
        sizes = (
            f"<div class='siting-row'>服务圈外的老人（规划后，每社区/村一圈，面积按人数）：</div>"
            f"<div class='siting-row'>{circles}人</div>"
        )
    badge = (
        f"<span style='display:inline-block;width:16px;height:16px;line-height:16px;"
        f"border-radius:50%;background:{PROPOSED_COLOUR};color:#fff;text-align:center;"
        "font:bold 10px sans-serif;margin-right:5px'>1</span>"
    )
    # a <details> box, open at first; its summary says what a click does in either state
    return (
        LEGEND_CSS + "<details open id='siting-legend' style='position:fixed;bottom:24px;left:12px;"
        "z-index:9999;background:rgba(255,255,255,.94);padding:6px 10px;border:1px solid #999;"
        f"border-radius:4px;font:12px sans-serif;max-width:{LEGEND_WIDTH}px;"
        "max-height:calc(100vh - 140px);overflow-y:auto'>"
        f"<summary><b>图例</b>·{html_text(sc.name)}"
        "<span class='siting-fold-open' style='color:#666'>（点击收起）</span>"
        "<span class='siting-fold-closed' style='color:#666'>（点击展开）</span></summary>"
        f"覆盖{res.inputs.age_label}老人：规划前 {before / total:.1%} → 规划后 {after / total:.1%}"
        f"（新建 {len(proposed)} 处）<br>"
        f"社区一刻钟服务圈：步行 {sc.coverage.urban_minutes:g} 分钟 × "
        f"{sc.coverage.walk_speed_mps:g} m/s = {sc.coverage.urban_radius_m:.0f} m；"
        f"村一公里服务圈：{sc.coverage.rural_radius_m:.0f} m"
        "（路网距离）<br>"
        f"求解：{html_text(status_zh(m.status))}，最优性差距 {m.gap:.2%}"
        f"{_walk_line(m)}"
        f"<hr><b>社区/村覆盖率（规划后）</b>{bins}{_cells_note(res)}"
        f"<hr>{areas}{kinds}"
        + row(_swatch(f"{dot}background:{OTHER_COLOUR};width:10px;height:10px"), "其他养老设施")
        + f"<div class='siting-row'>{badge}建议新建站点（按建设顺序编号）</div>"
        + (f"<hr>{sizes}" if sizes else "")
        + (f"<hr><div style='color:#b35806'>{html_text(note)}</div>" if note else "")
        + _notes(res.warnings)
        + "</details>"
    )


def _round_steps(largest: float) -> list[float]:
    """Two or three round figures up to ``largest`` for the legend's circle sizes."""
    top = float(10 ** np.floor(np.log10(max(largest, 1.0))))
    top = max(t for t in (top, 2 * top, 5 * top) if t <= max(largest, 1.0))
    steps = [top / 10, top / 2, top] if top >= 10 else [top]
    return [s for s in steps if s >= 1]


def _cells_note(res: RunData) -> str:
    """The legend's word on derived cells: 社区/村 given as points have no real boundaries."""
    if res.inputs.community_geometry != "points":
        return ""
    n = len(res.inputs.communities)
    return (
        "<div id='siting-cells' style='margin-top:3px'><span style='display:inline-block;"
        "width:14px;height:10px;margin-right:4px;border:1.5px dashed #555'></span>"
        f"虚线：{html_text(DERIVED_CELLS)}（{n} 个）"
        "<span style='color:#333'> ●</span> 居委会/村委会点位</div>"
    )


MAX_NOTES = 6


def _notes(warnings: Sequence[Note]) -> str:
    """The run's recorded warnings for the legend: a short list, each message in Chinese
    (``message_zh``), escaped; the rest counted and pointed to in report.xlsx."""
    if not warnings:
        return ""
    items = "".join(f"<li>{html_text(n.text)}</li>" for n in warnings[:MAX_NOTES])
    if len(warnings) > MAX_NOTES:
        items += f"<li>另有 {len(warnings) - MAX_NOTES} 条，见 report.xlsx 的“注意事项”表</li>"
    return (
        "<hr style='margin:4px 0'><div id='siting-notes' style='color:#b35806'><b>注意</b>"
        "<ul style='margin:2px 0;padding-left:16px;max-height:120px;overflow-y:auto'>"
        f"{items}</ul></div>"
    )


def _walk_line(solution: Solution) -> str:
    """p-center / p-median: the walks their sites leave, for the legend."""
    w = solution.walks
    if w is None:
        return ""
    if w.bound_m is not None:  # p-center
        return (
            f"<br>最远步行距离 {w.worst_walk_m:,.0f} m"
            f"（{solution.p} 处新站点不可能低于 {w.bound_m:,.0f} m）"
        )
    return f"<br>到最近站点平均步行 {w.mean_walk_m or 0.0:,.0f} m，最远 {w.worst_walk_m:,.0f} m"
