"""Benchmarks: run from the repository root as `python -m bench.<name>` (`make bench` runs them
all with their bounded defaults). Each prints one JSON line; bench/_common.py holds what they
share. docs/BENCHMARKS.md says what each measures and what it found."""
