"""Fault tests: servers started and stopped per test (see harness.py). The race tests of the issue
(parallel starts, parallel submits, a save racing a submit, the deadline sweeper racing a submit,
parallel certificate issue) live in tests/integration/test_races.py and test_certificate_races.py."""

from tests.reliability.fixtures import static_root  # noqa: F401
