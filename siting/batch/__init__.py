"""Folder batches, one after another or each scenario a Dask task, and their summary.

``dask worker ADDRESS --preload siting.batch`` runs :func:`dask_setup` on each worker."""

from siting.batch.outcome import BatchError, BatchResult, Outcome
from siting.batch.run import dask_setup, run_batch

__all__ = ["BatchError", "BatchResult", "Outcome", "dask_setup", "run_batch"]


def __getattr__(name: str) -> object:
    """Names the old module ``siting.batch`` had, for scripts (with a DeprecationWarning)."""
    from siting._moved import from_package

    return from_package(__name__, name)
