"""HiGHS, directly through highspy: the status, bound and gap reported are HiGHS's own."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import SolverError

log = logging.getLogger(__name__)
INF = highspy.kHighsInf


def version() -> str:
    v = highspy._core
    return f"HiGHS {v.HIGHS_VERSION_MAJOR}.{v.HIGHS_VERSION_MINOR}.{v.HIGHS_VERSION_PATCH}"


def _swallow_banner() -> None:
    """Make the process's first ``Highs`` object with stdout pointed at the null device.

    HiGHS prints its banner ("Running HiGHS ... Copyright ...") on stdout when the first
    ``Highs`` object is made, before any option (``output_flag``) can be set, and never again;
    a bureau's run summary is no place for it. Done once, at import, before any solver thread.
    """
    try:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # no usable stdout: nothing to keep clean
        highspy.Highs()
        return
    os.dup2(null, 1)
    try:
        highspy.Highs()
        # the banner may still sit in C's stdout buffer (no C library by that name: Windows)
        with contextlib.suppress(OSError, TypeError):
            ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


_swallow_banner()


@dataclass(frozen=True)
class Solved:
    x: NDArray[np.float64]  # every column's value
    status: str  # HiGHS's model status text
    objective: float
    bound: float  # HiGHS's dual bound (MIP) or dual objective (LP)
    gap: float  # HiGHS's relative MIP gap (0 for an LP)
    row_duals: NDArray[np.float64]
    nodes: int
    feasible: bool = True  # a primal feasible solution (False only with ``partial``)


def build(
    a: sparse.csc_matrix,
    cost: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    integer: NDArray[np.bool_],
    *,
    maximize: bool,
) -> highspy.HighsLp:
    """A HiGHS model from column-wise arrays (``integer`` marks the integer columns)."""
    a = sparse.csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    if integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    return lp


def run(
    lp: highspy.HighsLp,
    *,
    time_limit_s: float,
    mip_rel_gap: float = 0.0,
    relax: bool = False,
    start: NDArray[np.float64] | None = None,
    ipm: bool = False,
    partial: bool = False,
) -> Solved:
    """Solve ``lp`` (as an LP if ``relax``), stopping at ``time_limit_s``.

    A MIP stopped by the time limit returns its best solution with HiGHS's proven gap; no
    feasible solution at all raises :class:`SolverError`, unless ``partial`` asks for whatever
    the solver has (an unfinished LP's duals still give a valid Lagrangian bound).
    """
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)  # HiGHS's own log; status and gap are read below
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", 0)
    if ipm:
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    if relax:
        lp.integrality_ = []
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(start, dtype=np.float64))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    solution = h.getSolution()
    if info.primal_solution_status != 2 and not partial:  # 2 = feasible
        raise SolverError(
            f"HiGHS found no feasible solution (status {status!r}); raise "
            "`time_limit_s` or use the fast solver"
        )
    mip = not relax and len(lp.integrality_) > 0
    bound = float(info.mip_dual_bound) if mip else float(info.objective_function_value)
    gap = float(max(info.mip_gap, 0.0)) if mip else 0.0
    duals = np.asarray(solution.row_dual) if solution.dual_valid else np.zeros(lp.num_row_)
    return Solved(
        np.asarray(solution.col_value),
        status,
        float(info.objective_function_value),
        bound,
        gap,
        duals,
        int(info.mip_node_count) if mip else 0,
        info.primal_solution_status == 2,
    )
