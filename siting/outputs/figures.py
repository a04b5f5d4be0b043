"""The report's figures drawn with matplotlib: the coverage curve (share of elderly within t
minutes' walk, before and after) beside the Lorenz curves of the covered share across
街道/乡镇."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from siting.analysis import access as equity
from siting.analysis.access import Equity
from siting.analysis.inequality import gini_zh, lorenz
from siting.io.write import write_with
from siting.outputs import mapimage
from siting.outputs.tables import tables
from siting.results import RunData


def curve_figure(eq: Equity, units: pd.DataFrame, figures: dict[str, Any]) -> Any:
    """A two-panel matplotlib figure in Chinese: the share of elderly within t minutes' walk
    (before and after, the scenario's threshold marked) and the Lorenz curves of the covered
    share across 街道/乡镇 (Gini in the legend). ``units``: the coverage_by_unit table."""
    from matplotlib.figure import Figure

    from siting.outputs.fonts import font

    fp = font()
    fig = Figure(figsize=(10.0, 4.4), dpi=150)
    left, right = fig.subplots(1, 2)
    c = eq.curve
    for col, label, colour in (
        ("share_before", "规划前", "#9e9e9e"),
        ("share_after", "规划后", "#d62728"),
    ):
        left.plot(c["minutes"], 100 * c[col], marker="o", color=colour, label=label)
    left.axvline(eq.threshold_minutes, color="#1f77b4", linestyle="--", linewidth=1)
    left.text(
        eq.threshold_minutes,
        2,
        f" 情景阈值 {eq.threshold_minutes:g} 分钟",
        color="#1f77b4",
        fontproperties=fp,
        fontsize=8,
    )
    left.set_xlabel(f"步行时间（分钟，步速 {eq.walk_speed_mps:g} m/s）", fontproperties=fp)
    left.set_ylabel("步行可达的老人比例（%）", fontproperties=fp)
    left.set_ylim(0, 100)
    left.set_title("覆盖率随步行时间变化（社区与村同按步行时间）", fontproperties=fp, fontsize=10)
    w = units["elderly"].to_numpy(dtype=float)
    for col, label, colour, key in (
        ("share_before", "规划前", "#9e9e9e", "gini_before"),
        ("share_after", "规划后", "#d62728", "gini_after"),
    ):
        lz = lorenz(units[col].to_numpy(dtype=float), w)
        right.plot(
            100 * lz["population"],
            100 * lz["covered"],
            marker=".",
            color=colour,
            label=f"{label}（基尼系数 {gini_zh(figures[key])}）",
        )
    right.plot([0, 100], [0, 100], color="black", linewidth=0.8, label="绝对公平线")
    right.set_xlabel("街道/乡镇按覆盖率由低到高累计老人比例（%）", fontproperties=fp)
    right.set_ylabel("累计覆盖老人比例（%）", fontproperties=fp)
    right.set_title("街道/乡镇覆盖率洛伦兹曲线", fontproperties=fp, fontsize=10)
    for ax in (left, right):
        ax.legend(prop=fp, fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def write_curve_png(res: RunData, path: Path) -> Path:
    """``coverage_curve.png`` beside ``map.png``: coverage against walking minutes and the
    Lorenz curves across 街道/乡镇 (:func:`siting.outputs.figures.curve_figure`)."""
    assert res.equity is not None
    tabs = tables(res)
    figures = equity.unit_figures(
        tabs["coverage_by_community"], tabs["coverage_by_unit"], res.equity
    )
    with mapimage.drawing():
        fig = curve_figure(res.equity, tabs["coverage_by_unit"], figures)
        return write_with(
            path,
            lambda tmp: fig.savefig(
                tmp, format="png", facecolor="white", metadata={"Software": None}
            ),
        )
