"""The result of :func:`siting.run`: :class:`RunResult`, the run's data
(:class:`siting.results.RunData`) with the verbs that hand it to the writers. The one module of
the pipeline that imports the writers at its top: the stages below it do not write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from siting.outputs import folder
from siting.outputs import tables as report
from siting.results import RunData


@dataclass(frozen=True)
class RunResult(RunData):
    """Everything a run computed (:class:`~siting.results.RunData`), and what to do with it."""

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The report tables by file stem (``coverage_by_community``, ``proposed_sites``...)."""
        return report.tables(self)

    @property
    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds, as a dict."""
        return report.summary(self, report.tables(self))

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> dict[str, Path]:
        """Write every output into ``out_dir``, swapped in as one complete set. A folder that
        holds files siting did not write needs ``overwrite=True`` (as ``--overwrite``)."""
        return folder.write_all(self, folder.check_out_dir(Path(out_dir), overwrite=overwrite))
