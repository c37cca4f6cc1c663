"""Benchmarks are scripts run by hand (see README.md), never part of the pytest run."""

collect_ignore_glob = ["*"]
