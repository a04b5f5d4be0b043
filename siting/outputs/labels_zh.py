"""The Chinese every document shows for what the tables hold in English: column headers, a
solver's status and name, pass/fail, the 2SFCA decay. One dictionary, so the workbook, the
web map and the CLI summary say the same thing in the same words."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

HEADERS = {
    "code": "代码",
    "name": "名称",
    "street_code": "街道/乡镇代码",
    "kind": "类型",
    "elderly": "60岁以上老人",
    "radius_m": "服务半径(米)",
    "covered_before": "规划前覆盖(人)",
    "covered_after": "规划后覆盖(人)",
    "share_before": "规划前覆盖率",
    "share_after": "规划后覆盖率",
    "nearest_before_m": "至最近设施步行距离(米)",
    "status_after": "规划后状态",
    "access_2sfca_before": "规划前可及性(两步移动搜索法)",
    "access_2sfca_after": "规划后可及性(两步移动搜索法)",
    "communities": "社区/村数",
    "communities_uncovered_after": "规划后未覆盖社区/村数",
    "build_order": "建设顺序",
    "id": "编号",
    "lon": "经度",
    "lat": "纬度",
    "newly_covered": "新增覆盖老人",
    "land_area_m2": "用地面积(m²)",
    "communities_newly_covered": "新覆盖的社区/村",
    "unit": "单元",
    "unit_name": "单元名称",
    "level": "层级",
    "rule": "规则",
    "title": "规则内容",
    "stage": "阶段",
    "required": "要求",
    "actual": "现值",
    "shortfall": "差额",
    "pass": "是否达标",
    "measure": "单位",
    "source": "依据",
    "confidence": "可信度",
    "note": "说明",
    "residents": "常住人口",
    "per_capita_m2": "人均用地标准(m²)",
    "required_m2": "应配用地(m²)",
    "provided_m2": "现有用地(m²)",
    "facilities_without_land": "缺少用地数据的设施数",
    "shortfall_m2": "现状缺口(m²)",
    "proposed_m2": "新建站点用地(m²)",
    "closed_m2": "规划关闭设施用地(m²)",
    "shortfall_after_m2": "规划后缺口(m²)",
}


STATUS_AFTER_ZH = {
    "covered": "全覆盖",
    "partly covered": "部分覆盖",
    "uncovered": "未覆盖",
    "no elderly": "无老人",
}


def pass_zh(value: object) -> str:
    """``pass`` as printed: 达标 / 未达标 / 无数据 (no figure to check)."""
    if value is True or value is np.True_:
        return "达标"
    if value is False or value is np.False_:
        return "未达标"
    return "无数据"


_STATUS_WHOLE = {
    "Optimal": "已证明最优",
    "Heuristic": "启发式（未证明最优）",
    "Time limit reached": "达到时间限制",
    "Iteration limit reached": "达到迭代限制",
    "Solution limit reached": "达到解数限制",
    "Memory limit reached": "达到内存限制",
    "Interrupted by user": "被用户中断",
    "Infeasible": "无可行解",
    "Unknown": "未知",
}


_STATUS_PARTS = (
    (r"Optimal \(proven by the Lagrangian bound\)", "最优（拉格朗日界证明）"),
    (r"Optimal \(proven by the LP bound\)", "最优（LP界证明）"),
    (r"Optimal \(proven by the covering bounds\)", "最优（覆盖界证明）"),
    (r"Optimal \(proven by the bounds\)", "最优（上下界证明）"),
    (
        r"Optimal \(p = 0: the existing sites are the only answer\)",
        "最优（p = 0：现有设施即唯一方案）",
    ),
    (r"Heuristic; gap certified by the LP bound", "启发式（差距由LP界证明）"),
    (r"Heuristic; gap certified by a Lagrangian bound", "启发式（差距由拉格朗日界证明）"),
    (r"^Heuristic", "启发式（未证明最优）"),
    (
        r"; search stopped by the time limit after (\d+) of (\d+) rounds",
        r"；达到时间限制，搜索完成 \1/\2 轮",
    ),
    (r"; search stopped by the time limit", "；达到时间限制，搜索提前停止"),
    (r"; bisection stopped by the time limit", "；达到时间限制，二分提前停止"),
)


def status_zh(status: str) -> str:
    """A model status (``Solution.status``) in Chinese; a status not in the table passes
    through as the model wrote it."""
    if status in _STATUS_WHOLE:
        return _STATUS_WHOLE[status]
    for pattern, text in _STATUS_PARTS:
        status = re.sub(pattern, text, status)
    return status


_SOLVER_PARTS: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    (r"^trivial$", "无需求解（无待覆盖需求）"),
    (
        r"(HiGHS [\d.]+) branch and cut \(equity floor ([\d.]+)% in every unit\)$",
        r"\1 分支切割法（每个街道/乡镇覆盖率不低于 \2%）",
    ),
    (r"^none needed: no new site to choose \(p = 0\)$", "无需求解：没有要选的新站点（p = 0）"),
    (r"(HiGHS [\d.]+) branch and cut \(warm start: (.+)\)$", r"\1 分支切割法（热启动：\2）"),
    (
        r"greedy \+ iterated swap search \((\d+) rounds, seed (\d+)\); Lagrangian bound from ",
        r"贪心 + 迭代交换搜索（\1 轮，随机种子 \2）；拉格朗日界来自 ",
    ),
    (r"subgradient \(([\d,]+) steps\)", r"次梯度法（\1 步）"),
    (r"HiGHS LP duals \((.+?)\)", lambda m: f"HiGHS 线性规划对偶（{status_zh(m.group(1))}）"),
    (
        r"greedy, then a row-weighting swap search \(([\d,]+) steps\); LP bound",
        r"贪心，再做行加权交换搜索（\1 步）；LP下界",
    ),
    (
        r"greedy, then swap search at ever fewer sites \(([\d,]+) rounds\); LP bound",
        r"贪心，再逐次减少站点做交换搜索（\1 轮）；LP下界",
    ),
    (
        r"bisection over ([\d,]+) walking distances, ([\d,]+) LSCP solves",
        r"在 \1 个步行距离上二分查找，求解 LSCP \2 次",
    ),
    (r"vertex substitution; Lagrangian bound by subgradient", "顶点替换；次梯度法拉格朗日界"),
    (
        r", assignment by LP; bound: the least of the LP relaxation, the covering bound and the "
        r"places$",
        "，线性规划分配；界取线性规划松弛、覆盖界与服务名额三者中的最小值",
    ),
    (r"capacity-aware greedy", "考虑容量的贪心"),
    (r"the MCLP's sites", "MCLP 选出的站点"),
    (r"the fast search", "快速搜索"),
    (r"（热启动：greedy）", "（热启动：贪心解）"),
    (r"the search", "启发式搜索"),
    (r"vertex substitution", "顶点替换"),
    (r" and ", " 和 "),
)


def solver_zh(solver: str) -> str:
    """How the model was solved (``Solution.solver``), in Chinese; unknown words pass through."""
    for pattern, text in _SOLVER_PARTS:
        solver = re.sub(pattern, text, solver)
    return solver


MODEL_ZH = {
    "mclp": "最大覆盖模型（MCLP）",
    "cmclp": "考虑容量的最大覆盖模型（CMCLP）",
    "lscp": "集合覆盖模型（LSCP）",
    "target": "目标覆盖率模型",
    "pmedian": "P-中值模型",
    "pcenter": "P-中心模型",
}
"""The models' names as the report says them (summary.json keeps the codes)."""


def _source_zh(source: str) -> str:
    """Where a site's capacity came from (:attr:`siting.analysis.supply.Supply.source`), in
    Chinese."""
    if source.startswith("rule:"):
        return "规则最低值"
    return {
        "data": "设施数据",
        "candidates": "候选点数据",
        "median": "同类现有设施中位数",
        "one": "每处计 1",
    }.get(source, source)


_DECAY_ZH = {"step": "不衰减（服务圈内同权）", "gaussian": "高斯衰减（至服务圈边缘为 0）"}
