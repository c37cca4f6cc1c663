"""The dependency direction (README "Layout") is checked, not just written down: import-linter's
contracts in pyproject.toml ([tool.importlinter]) - quizzes is a leaf, the courses sub-packages are
layered, no import cycles inside a package. Function-local imports count too."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_the_check(tmp_path):
    """The check can fail: a contract the code does not keep (catalog uses the models) is reported."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["courses"]\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "catalog without models"\ntype = "forbidden"\n'
        'source_modules = ["courses.catalog"]\nforbidden_modules = ["courses.models"]\n'
    )
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "courses.catalog is not allowed to import courses.models" in result.stdout
