"""Old module paths, kept working for scripts: ``import siting.coverage`` gives a module that
forwards every attribute to where it lives now (:mod:`siting.analysis.coverage`,
:mod:`siting.problem.cover`), with a :class:`DeprecationWarning` naming the new paths; an old
module that is a package now (``siting.inputs``) hands out the names the package does not hold
through its ``__getattr__``. ``tests/test_moved.py`` checks every public name the modules had
before the move (``tests/data/api_before_the_move.json``); the README's "Moved modules" lists
the paths. They go in a later release."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

MOVED: dict[str, tuple[str, ...]] = {
    "siting.batchreport": ("siting.batch.summary",),
    "siting.cache": ("siting.pipeline.cache",),
    "siting.cells": ("siting.inputs.cells",),
    "siting.checks": ("siting.inputs.checks", "siting.inputs.findings"),
    "siting.comparison": ("siting.outputs.comparison",),
    "siting.costs": ("siting.network.distances",),
    "siting.coverage": ("siting.analysis.coverage", "siting.problem.cover"),
    "siting.demand": ("siting.problem.demand", "siting.problem.sites", "siting.inputs.projection"),
    "siting.demo_bureau": ("siting.demo.bureau",),
    "siting.demo_province": ("siting.demo.province",),
    "siting.equity": (
        "siting.analysis.access",
        "siting.analysis.supply",
        "siting.analysis.curve",
        "siting.analysis.inequality",
        "siting.outputs.webmap.layers",
        "siting.outputs.figures",
    ),
    "siting.io.background": ("siting.outputs._background",),
    "siting.io.names": ("siting.inputs.names", "siting.io.tables"),
    "siting.io.population": (
        "siting.inputs.population",
        "siting.inputs.age_bands",
        "siting.inputs.totals",
        "siting.io.tables",
    ),
    "siting.io.read": (
        "siting.inputs.layers",
        "siting.inputs.join",
        "siting.io.tables",
        "siting.io.vector",
    ),
    "siting.liveplan": ("siting.outputs.webmap.liveplan",),
    "siting.mapimage": ("siting.outputs.mapimage", "siting.outputs.fonts"),
    "siting.maps": (
        "siting.outputs.webmap.page",
        "siting.outputs.webmap.layers",
        "siting.outputs.webmap.points",
        "siting.outputs.webmap.legend",
        "siting.outputs.webmap.liveplan",
        "siting.outputs.style",
        "siting.outputs.mapimage",
    ),
    "siting.models.candidates": ("siting.problem.candidates",),
    "siting.plan": ("siting.pipeline.plan", "siting.models"),
    "siting.report": (
        "siting.outputs.tables",
        "siting.outputs.folder",
        "siting.outputs.labels_zh",
        "siting.outputs.workbook",
        "siting.outputs.figures",
        "siting.outputs.gis_layers",
    ),
    "siting.solve": ("siting.pipeline.solve",),
    "siting.study": ("siting.pipeline.study",),
    "siting.walknet": ("siting.network.arrays",),
}
"""Old module path -> the modules its names are in now, looked up in this order."""

IN_PACKAGES: dict[str, dict[str, str]] = {
    "siting.batch": dict.fromkeys(
        (
            "Describe",
            "STAGING_PREFIX",
            "WORKER_NETWORKS",
            "network_source",
            "plan",
            "publish",
            "run_scenario",
        ),
        "siting.batch.run",
    ),
    "siting.demo": dict.fromkeys(
        (
            "DISTRICT_CODE",
            "DISTRICT_NAME",
            "DemoCity",
            "ELDERLY_URBAN_TOTAL",
            "SEED",
            "build",
            "generate",
            "main",
        ),
        "siting.demo.district",
    ),
    "siting.inputs": {
        "FACILITY_FIGURES": "siting.inputs.load",
        "Inputs": "siting.inputs.load",
        "load_inputs": "siting.inputs.load",
        "place_parcel_sites": "siting.problem.sites",
    },
    "siting.network": {"osmnx_graph_from_osm_file": "siting.network.osm_file"},
    "siting.pipeline": {"placed_sites": "siting.pipeline.stages"},
    "siting.problem": {"site_kind": "siting.problem.build", "site_table": "siting.problem.build"},
}
"""Old modules that are packages now (``siting.inputs``…): the names the module had that the
package does not, and the module each is in; the package's ``__getattr__`` hands them out."""


def _warn(old: str, new: str, stacklevel: int) -> None:
    warnings.warn(
        f"{old} has moved to {new}; the old path goes in a later release",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def from_package(package: str, name: str) -> Any:
    """An old module's name that its package (the same dotted path) does not hold: for the
    package's module-level ``__getattr__``. Only the listed names are looked up, so that a
    package never imports its own stages while it is itself being imported."""
    target = IN_PACKAGES.get(package, {}).get(name)
    if target is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    _warn(f"{package}.{name}", f"{target}.{name}", stacklevel=3)
    return getattr(importlib.import_module(target), name)


class _Forward(types.ModuleType):
    """A module object whose attributes are those of the module it was moved to."""

    def __init__(self, old: str, new: tuple[str, ...]) -> None:
        super().__init__(old, "Moved to " + ", ".join(f":mod:`{n}`" for n in new) + ".")
        self.__dict__["_targets"] = new

    def __getattr__(self, name: str) -> Any:
        for target in self.__dict__["_targets"]:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(
            {n for t in self.__dict__["_targets"] for n in dir(importlib.import_module(t))}
        )


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object, target: object = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = MOVED[spec.name]
        _warn(spec.name, " and ".join(new), stacklevel=2)
        return _Forward(spec.name, new)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module forwards."""


def install() -> None:
    """Put the finder on :data:`sys.meta_path` once."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
