"""The demo district 演示区 (fictional, from a fixed seed), the same district as a 民政局's files,
and a province of small counties for batches: ``python -m siting.demo DIR`` rebuilds ``data/``."""


def __getattr__(name: str) -> object:
    """Names the old module ``siting.demo`` had, for scripts (with a DeprecationWarning)."""
    from siting._moved import from_package

    return from_package(__name__, name)
