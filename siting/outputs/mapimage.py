"""The static map for documents (``map.png``): Chinese, tight, with legend, scale and north.

Every text is set in Noto Sans SC, the font file shipped by the ``pylopdf-fonts-zh-cn`` package
and loaded by its path, so the picture is the same on every machine: no system font, and no
state of matplotlib's font cache, decides whether the Chinese shows. The axes are in the run's
analysis CRS (metres), which the scale bar reads directly.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from siting.io.write import write_with
from siting.outputs.fonts import _face, drawable, font

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontProperties

    from siting.results import RunData

MARGIN = 0.03  # of the district's larger side, around its bounds
DPI = 200
MAP_WIDTH_IN = 9.0  # the map's width; the legend adds its own to the right
CIRCLE_COLOUR = "#2166ac"  # a circle facility type the web map has no colour of its own for


_DRAWING = threading.Lock()


def _fresh_lock() -> None:
    """After a fork, a new lock: one another thread held at the fork stays held in the child
    forever (a script that forks while a thread draws hung there)."""
    global _DRAWING
    _DRAWING = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_fresh_lock)


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """Matplotlib's settings as siting draws with, whatever the caller's: matplotlib's own
    defaults (no ``matplotlibrc`` file, no ``rcParams`` a script set), one picture at a time
    in a process (the settings are global: two threads drawing at once traded them), and the
    caller's settings back afterwards. A user's ``plt.rcParams['font.size'] = 14`` or a
    ``MATPLOTLIBRC`` had changed the pictures, ``map.png``'s size included."""
    import matplotlib.style

    with _DRAWING, matplotlib.style.context("default"):
        yield


def prepare() -> None:
    """Import matplotlib and open the shipped font in this process.

    Each run's pictures are drawn in a forked process (:mod:`siting.outputs._background`), which
    inherits what this one has loaded and keeps nothing it loads itself: a process that writes
    several runs (a serial batch, a script) calls this once, so each fork does not import
    matplotlib again (about 0.7 s a run).
    """
    import geopandas.plotting  # noqa: F401
    import matplotlib.figure  # noqa: F401

    font()
    _face()


def nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10ⁿ metres) near a fifth of ``width_m``."""
    target = max(width_m / 5, 1.0)
    power = 10 ** math.floor(math.log10(target))
    return max((step * power for step in (1, 2, 5, 10) if step * power <= target), default=power)


def length_label(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _scale_bar(ax: Axes, fp: FontProperties) -> None:
    """A two-part black and white bar at the lower left, labelled 0, half and the length."""
    from matplotlib.patches import Rectangle

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    length = nice_length(x1 - x0)
    left, bottom, height = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0), 0.008 * (y1 - y0)
    for i, colour in enumerate(("#000000", "#ffffff", "#000000", "#ffffff")):
        ax.add_patch(
            Rectangle(
                (left + i * length / 4, bottom),
                length / 4,
                height,
                facecolor=colour,
                edgecolor="#000000",
                linewidth=0.6,
                zorder=6,
            )
        )
    for at, text in ((0.0, "0"), (length / 2, length_label(length / 2)), (length, "")):
        ax.text(
            left + at,
            bottom + height * 1.8,
            text or length_label(length),
            ha="center",
            va="bottom",
            fontproperties=fp,
            fontsize=7,
            zorder=6,
        )


def _north_arrow(ax: Axes, fp: FontProperties) -> None:
    """An arrow with 北 at the upper left (grid north of the Gauss-Krüger zone)."""
    ax.annotate(
        "北",
        xy=(0.05, 0.97),
        xytext=(0.05, 0.87),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="top",
        fontproperties=fp,
        fontsize=10,
        arrowprops={"facecolor": "#000000", "edgecolor": "#000000", "width": 3, "headwidth": 10},
        zorder=6,
    )


def _share(values: pd.Series, weights: pd.Series) -> float:
    total = float(weights.sum())
    return float((weights * values).sum()) / total if total else 0.0


def layers(res: RunData) -> dict[str, Any]:
    """The layers ``map.png`` draws, in the run's analysis CRS.
    :func:`siting.outputs.folder.write_all` projects them before the picture process is forked, so
    the child never touches PROJ (whose database connection a fork would share with the parent)."""
    comm = (
        res.inputs.communities[["geometry"]]
        .join(res.communities.set_index("code")[["share_after"]])
        .to_crs(res.crs)
    )
    return {
        "communities": comm,
        "units": res.inputs.streets.to_crs(res.crs),
        "facilities": res.inputs.facilities.to_crs(res.crs),
        "proposed": res.proposed.to_crs(res.crs),
    }


def write_png(
    res: RunData, proposed: pd.DataFrame, path: Path, projected: dict[str, Any] | None = None
) -> Path:
    """A static map for documents: 社区/村 by share covered after the plan, 街道/乡镇
    outlines and names, facilities by type, proposed sites numbered
    in build order; title, legend (right of the map), scale bar, north arrow and source line
    in Chinese; drawn in siting's own settings (:func:`drawing`)."""
    with drawing():
        return _write_png(res, proposed, path, projected or layers(res))


def _write_png(res: RunData, proposed: pd.DataFrame, path: Path, projected: dict[str, Any]) -> Path:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.patheffects import withStroke

    from siting.outputs.style import (
        OTHER_COLOUR,
        PROPOSED_COLOUR,
        TYPE_COLOURS,
        _colour,
        share_legend,
    )

    fp = font()
    sc, cov = res.scenario, res.scenario.coverage
    comm = projected["communities"].copy()
    comm["fill"] = [_colour(s) for s in comm["share_after"]]  # grey where no elderly
    units, fac = projected["units"], projected["facilities"]
    new = projected["proposed"]
    weight = res.demand["weight"]
    before = _share(res.demand["covered_before"], weight)
    after = _share(res.demand["covered_after"], weight)

    xmin, ymin, xmax, ymax = units.total_bounds
    cx0, cy0, cx1, cy1 = comm.total_bounds
    xmin, ymin, xmax, ymax = min(xmin, cx0), min(ymin, cy0), max(xmax, cx1), max(ymax, cy1)
    pad = MARGIN * max(xmax - xmin, ymax - ymin)

    # text.parse_math off: a name with $…$ is text, not a formula
    with matplotlib.rc_context(
        {
            "font.family": fp.get_name(),
            "axes.unicode_minus": False,
            "text.parse_math": False,
        }
    ):
        ratio = min(max((ymax - ymin) / (xmax - xmin), 0.4), 1.6)
        # a Figure outside pyplot: no global state (the picture is drawn in a worker thread),
        # and geopandas' draw_idle after each layer no longer redraws the whole figure (nine
        # full draws took 1.0 s of the 1.2 s the picture cost)
        fig = Figure(figsize=(MAP_WIDTH_IN, MAP_WIDTH_IN * ratio + 1.2), dpi=DPI)
        ax = fig.subplots()
        comm.plot(ax=ax, color=comm["fill"], edgecolor="#8c8c8c", linewidth=0.25, zorder=1)
        units.boundary.plot(ax=ax, color="#252525", linewidth=1.1, zorder=3)
        for geom, name in zip(units.geometry, units["name"], strict=True):
            at = geom.representative_point()
            ax.text(
                at.x,
                at.y,
                drawable(name),
                ha="center",
                va="center",
                fontproperties=fp,
                fontsize=6.5,
                color="#252525",
                path_effects=[withStroke(linewidth=2, foreground="white", alpha=0.8)],
                zorder=3,
            )
        present = set(fac["type"])
        circle_types = [t for t in res.inputs.circle_types if t in present]
        handles: list[Any] = [Patch(color=c, label=t) for c, t in share_legend(res)]
        handles.append(Line2D([], [], color="#252525", linewidth=1.1, label="街道/乡镇界"))
        for kind in (*circle_types, None):
            part = fac[fac["type"] == kind] if kind else fac[~fac["type"].isin(circle_types)]
            colour = TYPE_COLOURS.get(kind, CIRCLE_COLOUR) if kind else OTHER_COLOUR
            label = f"{drawable(kind)}（现有）" if kind else "其他养老设施（不计服务圈）"
            if len(part):
                part.plot(
                    ax=ax, color=colour, markersize=16, edgecolor="white", linewidth=0.5, zorder=4
                )
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker="o",
                        linestyle="",
                        markersize=5,
                        color=colour,
                        markeredgecolor="white",
                        label=label,
                    )
                )
        if len(new):
            new.plot(
                ax=ax,
                color=PROPOSED_COLOUR,
                markersize=110,
                edgecolor="white",
                linewidth=1.0,
                zorder=5,
            )
            for order, geom in zip(new["build_order"], new.geometry, strict=True):
                ax.text(
                    geom.x,
                    geom.y,
                    str(order),
                    ha="center",
                    va="center",
                    fontproperties=fp,
                    fontsize=6,
                    color="white",
                    zorder=6,
                )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="",
                    markersize=9,
                    color=PROPOSED_COLOUR,
                    markeredgecolor="white",
                    label="建议新建站点（数字为建设顺序）",
                )
            )
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad)
        ax.set_aspect("equal")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_linewidth(0.6)
            spine.set_color("#555555")
        _scale_bar(ax, fp)
        _north_arrow(ax, fp)
        legend = ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
            prop=fp,
            title="社区/村老人覆盖率（规划后）",
            title_fontproperties=fp,
            alignment="left",
        )
        for text in legend.get_texts():
            text.set_fontsize(7.5)
        legend.get_title().set_fontsize(8.5)
        ax.set_title(
            f"{drawable(sc.name)} 养老服务设施布局规划图\n"
            f"一刻钟服务圈 {cov.urban_radius_m:,.0f} m · 一公里服务圈 "
            f"{cov.rural_radius_m:,.0f} m · 新建 {len(proposed)} 处 · "
            f"{res.inputs.age_label}老人覆盖率 {before:.1%} → {after:.1%}",
            fontproperties=fp,
            fontsize=11,
            linespacing=1.6,
            loc="left",
        )
        ax.text(
            0.0,
            -0.015,
            f"服务圈按步行路网距离计算：社区（一刻钟）{cov.urban_minutes:g} 分钟 × "
            f"{cov.walk_speed_mps:g} m/s = {cov.urban_radius_m:,.0f} m，村（一公里）"
            f"{cov.rural_radius_m:,.0f} m；规则集 {res.rules.set_id}"
            f"（{res.rules.titles[-1] if res.rules.titles else ''}）；坐标系 {res.crs}；"
            "由 siting 生成",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontproperties=fp,
            fontsize=6,
            color="#555555",
        )
        return write_with(
            path,
            lambda tmp: fig.savefig(
                tmp, format="png", bbox_inches="tight", pad_inches=0.15, facecolor="white"
            ),
        )
