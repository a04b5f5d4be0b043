"""Shared fixtures: the repository's demo scenario and one end-to-end run of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from siting.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = ROOT / "scenarios" / "demo.yaml"


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run ``siting run scenarios/demo.yaml --out DIR`` once for the whole session."""
    out = tmp_path_factory.mktemp("demo_run")
    assert main(["run", str(DEMO_SCENARIO), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def demo_summary(demo_out: Path) -> dict:
    return json.loads((demo_out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo data and scenario; returns the scenario path."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    (tmp_path / "scenarios").mkdir()
    scenario = tmp_path / "scenarios" / "demo.yaml"
    shutil.copy(DEMO_SCENARIO, scenario)
    return scenario


@pytest.fixture(scope="session")
def demo_result():
    """The demo scenario run through the pipeline in Python (no files written)."""
    from siting.pipeline.stages import run
    from siting.scenario import load

    return run(load(DEMO_SCENARIO))
