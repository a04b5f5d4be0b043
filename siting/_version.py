"""The package's version, in a module of its own so that any stage can name it (the summary,
the batch's worker check) without importing the package's front door. Kept equal to
``pyproject.toml``'s ``version`` (a test checks)."""

__version__ = "0.1.0"
