"""Scenario files: a strict YAML schema for one siting run.

Unknown keys, wrong types, radii <= 0 and paths that do not exist are errors naming the key and
the file; YAML is read with the safe loader (no code runs). Relative paths are relative to the
scenario file. :mod:`siting.scenario.input_files` holds the ``inputs:`` section (the files a run
reads), :mod:`siting.scenario.model` everything else and :func:`load`. See the README's
"Scenario files" section for every key.
"""

from siting.scenario.input_files import (
    AgeGroup,
    BoundaryLayer,
    CoordSystemName,
    Inputs,
    Layer,
    Network,
    PointLayer,
    PopulationLayer,
    Positive,
)
from siting.scenario.model import (
    WALK_SPEED_PRESETS,
    WALK_SPEED_SOURCES_ZH,
    CandidateGeneration,
    Coverage,
    District,
    Equity,
    Model,
    Output,
    Plan,
    Projection,
    Rules,
    Scenario,
    load,
    speed_source_zh,
)

__all__ = [
    "WALK_SPEED_PRESETS",
    "WALK_SPEED_SOURCES_ZH",
    "AgeGroup",
    "BoundaryLayer",
    "CandidateGeneration",
    "CoordSystemName",
    "Coverage",
    "District",
    "Equity",
    "Inputs",
    "Layer",
    "Model",
    "Network",
    "Output",
    "Plan",
    "PointLayer",
    "PopulationLayer",
    "Positive",
    "Projection",
    "Rules",
    "Scenario",
    "load",
    "speed_source_zh",
]
