"""Speed benchmarks for convlab's engine (not tests): ``python -m benchmarks.run``."""
