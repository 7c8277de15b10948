"""The quality benchmark: ``python -m benchmarks.quality.run`` (see run.py)."""
