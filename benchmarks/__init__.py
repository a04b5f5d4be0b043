"""Benchmarks: ``python -m benchmarks coverage --size small|medium|large`` or ``--jinan``."""
