"""Stage 7: the files of a run — tables and ``summary.json``, ``report.xlsx``, the pictures, the
web map with its live plan, GIS layers, comparisons — written as one complete set."""
