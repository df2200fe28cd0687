"""Performance measurements of the master on the paths users wait for.

``make bench`` (``python -m bench``) prints one table, each figure beside its baseline,
and writes the same figures as JSON to ``bench/results/``. Benchmarks measure; nothing
here passes or fails on a timing.
"""
