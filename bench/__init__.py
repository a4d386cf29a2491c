"""Benchmark suite of issue 8: national-scale data, HTTP load, growth, grading, events, memory (`python -m bench`)."""
