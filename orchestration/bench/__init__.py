"""Benchmarks of the pipeline against plain DuckDB doing the same work (``make bench``)."""
