"""Stage 1: the bureau's layers read and cross-checked — boundaries or 居委会 points, the 民政局's
population table made tidy and joined by code or name, facilities and candidates in their
declared coordinate systems, cells for 社区/村 given as points, and the input checks."""


def __getattr__(name: str) -> object:
    """Names the old module ``siting.inputs`` had, for scripts (with a DeprecationWarning)."""
    from siting._moved import from_package

    return from_package(__name__, name)
