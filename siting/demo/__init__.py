"""The demo district 演示区 (fictional, from a fixed seed), the same district as a 民政局's files,
and a province of small counties for batches: ``python -m siting.demo DIR`` rebuilds ``data/``."""
