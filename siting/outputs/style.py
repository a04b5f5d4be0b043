"""The colours and classes every map shares, web page and picture alike: the covered-share bins
and their legend, a colour per facility type, the 无老人 grey, the uncovered bubbles' colour and
sizes, the accessibility palette. One table of them, so the two maps cannot disagree."""

from __future__ import annotations

from siting.results import RunData

SHARE_BINS = (
    (0.0, "#b2182b", "0%（未覆盖）"),
    (0.5, "#ef8a62", "0–50%"),
    (0.9, "#fddbc7", "50–90%"),
    (0.9999, "#a6dba0", "90–100%"),
    (1.01, "#1b7837", "100%（全覆盖）"),
)


TYPE_COLOURS = {
    "社区日间照料中心": "#2166ac",
    "街道综合养老服务中心": "#542788",
    "农村幸福院": "#35978f",
}


OTHER_COLOUR = "#737373"


PROPOSED_COLOUR = "#e66101"


NO_ELDERLY_COLOUR, NO_ELDERLY_LABEL = "#d9d9d9", "无老人（不计覆盖率）"


def share_legend(res: RunData) -> list[tuple[str, str]]:
    """The choropleth's legend rows (colour, text); the grey of 社区/村 without elderly only
    when there are some."""
    rows = [(c, t) for _, c, t in SHARE_BINS]
    if (res.communities["elderly"] <= 0).any():
        rows.append((NO_ELDERLY_COLOUR, NO_ELDERLY_LABEL))
    return rows


def share_text(share: float) -> str:
    """A share in a tooltip; 无老人 where there is none."""
    return "无老人" if share != share else f"{share:.1%}"


def _colour(share: float) -> str:
    if share != share:  # NaN: a 社区/村 without elderly has no share
        return NO_ELDERLY_COLOUR
    if share <= 0:
        return SHARE_BINS[0][1]
    for upper, colour, _ in SHARE_BINS[1:]:
        if share < upper:
            return colour
    return SHARE_BINS[-1][1]


ACCESS_PALETTE = ("#f7fcf5", "#c7e9c0", "#74c476", "#31a354", "#006d2c")
"""Five quantile classes of accessibility after the plan, light (least) to dark (most)."""


UNCOVERED_COLOUR = "#67001f"


UNCOVERED_MAX_RADIUS = 18.0


UNCOVERED_LEAST = 0.5
"""Elderly: a 社区/村 with fewer left outside every circle gets no circle."""
