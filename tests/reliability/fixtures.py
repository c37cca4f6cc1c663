"""Fixtures shared by tests/reliability and tests/security (imported by both conftest files)."""

import pytest

from tests.reliability.harness import collect_static


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """Static files collected once per run for the production-settings servers (their manifest)."""
    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root
