"""Who is left behind, across 街道/乡镇: the elderly-weighted Gini coefficient and Lorenz curve
of a figure per unit, and a unit's accessibility from its 社区/村."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from siting._errors import ModelError


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Weighted Gini coefficient: sum_ij w_i w_j |x_i - x_j| / (2 W^2 mean), mean weighted.

    With integer weights it equals the Gini of the values repeated by their weights (PySAL
    ``inequality``'s ``Gini``); rows with weight 0 do not count. 0 when all are equal; NaN
    (undefined, not "perfectly equal") when every value is 0 or no row has weight: nobody is
    covered, so there is no share to compare; values must be >= 0.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.shape != w.shape or (w < 0).any() or (x[w > 0] < 0).any() or np.isnan(x[w > 0]).any():
        raise ModelError("gini: values and weights of one shape, weights >= 0, values >= 0")
    use = w > 0
    x, w = x[use], w[use]
    total, mass = w.sum(), (w * x).sum()
    if total <= 0 or mass <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    below = np.cumsum(w) - w  # weight strictly before each row in sorted order
    # sum_{i<j} w_i w_j (x_j - x_i)
    #   = sum_j w_j x_j below_j - sum_i w_i x_i (total - below_i - w_i)
    half = float((w * x * below).sum() - (w * x * (total - below - w)).sum())
    return max(half / (total * mass), 0.0)


def lorenz(values: ArrayLike, weights: ArrayLike) -> pd.DataFrame:
    """The Lorenz curve of ``values`` weighted by ``weights``: units sorted by value, the
    cumulative share of weight (``population``) against the cumulative share of weight x value
    (``covered``), starting at (0, 0)."""
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    use = w > 0
    order = np.argsort(x[use], kind="stable")
    x, w = x[use][order], w[use][order]
    mass = (w * x).sum()
    pop = np.r_[0.0, np.cumsum(w) / w.sum()] if w.sum() > 0 else np.array([0.0, 1.0])
    cov = np.r_[0.0, np.cumsum(w * x) / mass] if mass > 0 else pop.copy()
    return pd.DataFrame({"population": pop, "covered": cov})


def _rounded(value: float) -> float | None:
    """A Gini for ``summary.json``: 4 decimals, ``null`` when undefined (nobody covered)."""
    return None if np.isnan(value) else round(value, 4)


def gini_zh(value: float | None) -> str:
    """A Gini as the documents show it; undefined says why."""
    return "不适用（无人覆盖）" if value is None or np.isnan(value) else f"{value:.3f}"


def unit_access(communities: pd.DataFrame, column: str) -> pd.Series:
    """A per-community figure rolled up to 街道/乡镇 (``street_code``), elderly-weighted."""
    frame = communities.assign(wv=communities["elderly"] * communities[column])
    g = frame.groupby("street_code")
    total = g["elderly"].sum()
    return (g["wv"].sum() / total.where(total > 0)).fillna(g[column].mean())
