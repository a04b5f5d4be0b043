"""The README's set-up commands are the ones CI runs and they name real things."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text[: text.index("\n## ")]
    return re.findall(r"```bash\n(.+?)\n```", head)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    install_and_demo, install_and_test = commands
    assert "siting run scenarios/demo.yaml" in install_and_demo
    assert "pytest" in install_and_test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_test in ci.splitlines()
    assert (ROOT / "scenarios" / "demo.yaml").is_file()


def test_own_data_scenario_example_matches_the_schema() -> None:
    import yaml

    from siting.scenario import Scenario

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Run it on your own data") :]
    example = re.search(r"```yaml\n(.+?)\n```", section, re.S)
    assert example is not None
    scenario = Scenario.model_validate(yaml.safe_load(example.group(1)))
    assert scenario.rules.set == "henan/puyang"
    assert scenario.inputs.facilities.coord_system == "gcj02"
