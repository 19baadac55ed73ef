"""The side-by-side benchmark: Mobius against Hive Gateway and a hand-written graphql-yoga server.

Run it with `scripts/bench` (see bench/README.md); it is never part of the test suite's verdict.
"""
