"""Old module paths, kept working for scripts: ``import siting.coverage`` gives a module that
forwards every attribute to :mod:`siting.analysis.coverage`, with a :class:`DeprecationWarning`
naming the new path. The README's "Moved modules" lists them; they go in a later release."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

MOVED = {
    "siting.batchreport": "siting.batch.summary",
    "siting.cache": "siting.pipeline.cache",
    "siting.cells": "siting.inputs.cells",
    "siting.checks": "siting.inputs.checks",
    "siting.comparison": "siting.outputs.comparison",
    "siting.costs": "siting.network.distances",
    "siting.coverage": "siting.analysis.coverage",
    "siting.demand": "siting.problem.demand",
    "siting.demo_bureau": "siting.demo.bureau",
    "siting.demo_province": "siting.demo.province",
    "siting.equity": "siting.analysis.access",
    "siting.io.background": "siting.outputs._background",
    "siting.io.names": "siting.inputs.names",
    "siting.io.population": "siting.inputs.population",
    "siting.io.read": "siting.inputs.layers",
    "siting.liveplan": "siting.outputs.webmap.liveplan",
    "siting.mapimage": "siting.outputs.mapimage",
    "siting.maps": "siting.outputs.webmap.page",
    "siting.models.candidates": "siting.problem.candidates",
    "siting.plan": "siting.pipeline.plan",
    "siting.report": "siting.outputs.tables",
    "siting.solve": "siting.pipeline.solve",
    "siting.study": "siting.pipeline.study",
    "siting.walknet": "siting.network.arrays",
}


class _Forward(types.ModuleType):
    """A module object whose attributes are those of the module it was moved to."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(old, f"Moved to :mod:`{new}`.")
        self.__dict__["_target"] = new

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.__dict__["_target"]), name)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self.__dict__["_target"]))


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object, target: object = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} has moved to {new}; the old path goes in a later release",
            DeprecationWarning,
            stacklevel=2,
        )
        importlib.import_module(new)
        return _Forward(spec.name, new)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module forwards."""


def install() -> None:
    """Put the finder on :data:`sys.meta_path` once."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
