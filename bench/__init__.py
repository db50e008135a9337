"""Benchmarks: `python -m bench.run` (API latency and throughput, see bench/README.md) and
`bench/seed_bench.py` (seed speed). Scripts, not tests; they print what they measured."""
