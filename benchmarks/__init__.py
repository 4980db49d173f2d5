"""Benchmarks: one module per topic, each runnable as ``python -m benchmarks.<name>``."""
