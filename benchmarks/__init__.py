"""Benchmarks: one module per topic, each runnable as ``python -m benchmarks.<name>``.

They print figures for the README; they are not timed tests and assert nothing about speed.
"""
