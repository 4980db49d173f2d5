"""Benchmarks: one script per topic, `python -m benchmarks.<name>`."""
