"""Benchmarks, each run as `python -m bench.<name>` by its Makefile target;
never collected by pytest, never run by CI."""
