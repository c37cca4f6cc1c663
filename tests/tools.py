"""What a test needs from the machine. Skipping hides a gap: scripts/bootstrap installs every tool a
test uses, and under CI=true a missing one fails the test instead of skipping it."""

import os
import shutil

import pytest

CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str):
    """Skip with the reason on a developer's machine; fail under CI=true (CI must run every test)."""
    if CI:
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason)


def require_program(program: str, *, debian_package: str) -> str:
    """The program's path, or skip/fail naming the Debian package scripts/bootstrap installs."""
    path = shutil.which(program)
    if path is None:
        unavailable(f"{program} is not installed (Debian {debian_package}; scripts/bootstrap installs it)")
    return path
