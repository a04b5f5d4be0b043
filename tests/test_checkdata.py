"""`siting check-data`: every input checked, nothing computed, a readable report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main
from siting.coords import wgs84_to_gcj02


def test_clean_demo_passes(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-data", str(demo_copy)]) == 0
    out = capsys.readouterr().out
    assert "0 problem(s) to fix" in out
    assert "96,615 elderly" in out


def test_amap_coordinates_declared_as_wgs84_are_caught(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = demo_copy.parent.parent / "data/facilities/demo_facilities.csv"
    table = pd.read_csv(path, encoding="utf-8-sig", dtype={"id": str})
    table["lon"], table["lat"] = wgs84_to_gcj02(table["lon"], table["lat"])  # as Amap gives them
    table.to_csv(path, index=False, encoding="utf-8-sig")
    assert main(["check-data", str(demo_copy)]) == 1
    out = capsys.readouterr().out
    assert "set `coord_system: gcj02`" in out
    assert "1 problem(s) to fix" in out


def test_every_broken_input_is_reported(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pop = demo_copy.parent.parent / "data/population/demo_population.csv"
    table = pd.read_csv(pop, encoding="utf-8-sig", dtype={"code": str})
    table.loc[3, "elderly_60plus"] = -5
    table.drop(index=7).to_csv(pop, index=False, encoding="utf-8-sig")
    assert main(["check-data", str(demo_copy)]) == 1
    out = capsys.readouterr().out
    assert "negative figures" in out
    assert "no population row" in out
