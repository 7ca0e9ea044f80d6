"""Load benchmarks (not tests): `make bench` / `python -m bench --help`."""
