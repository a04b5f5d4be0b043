"""The demo city: deterministic and sized like 濮阳华龙区 as the foundation issue asks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from siting.demo.district import ELDERLY_URBAN_TOTAL, generate
from siting.inputs.layers import read_boundaries
from siting.io.tables import read_table

ROOT = Path(__file__).resolve().parents[1]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    """Two runs write the same bytes, and those are the files under data/ (the tidy demo and
    the bureau-shaped examples in data/examples/bureau/), which holds nothing else."""
    first = generate(tmp_path / "a")
    second = generate(tmp_path / "b")
    assert {"bureau_population", "bureau_facilities", "bureau_candidates"} < set(first)
    for role, path in first.items():
        assert path.read_bytes() == second[role].read_bytes(), role
        committed = ROOT / "data" / path.relative_to(tmp_path / "a")
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is not what `python -m siting.demo data` writes"
        )
    shipped = {p.relative_to(ROOT / "data") for p in (ROOT / "data").rglob("*") if p.is_file()}
    assert shipped == {p.relative_to(tmp_path / "a") for p in first.values()}


def test_committed_demo_data_has_the_promised_shape() -> None:
    streets = read_boundaries(ROOT / "data/boundaries/demo_streets.geojson", level="streets")
    comm = read_boundaries(ROOT / "data/boundaries/demo_communities.geojson", level="communities")
    pop = read_table(ROOT / "data/population/demo_population.csv")
    assert 8 <= (streets["kind"] == "街道").sum() <= 10
    assert 2 <= (streets["kind"] == "乡镇").sum() <= 3
    assert 120 <= (comm["kind"] == "社区").sum() <= 150
    assert 20 <= (comm["kind"] == "村").sum() <= 40
    assert all(len(c) == 12 for c in comm.index)
    assert all(len(c) == 9 for c in streets.index)
    urban = pop[pop["code"].isin(comm.index[comm["kind"] == "社区"])]
    assert urban["elderly_60plus"].sum() == ELDERLY_URBAN_TOTAL
    assert (pop["elderly_60plus"] < pop["residents"]).all()
    fac = pd.read_csv(ROOT / "data/facilities/demo_facilities.csv", encoding="utf-8-sig")
    counts = fac["type"].value_counts()
    assert counts["社区日间照料中心"] >= 5
    assert counts["街道综合养老服务中心"] == 1
    assert counts["农村幸福院"] >= 3
    assert {"floor_area_m2", "beds", "land_area_m2"} <= set(fac.columns)
