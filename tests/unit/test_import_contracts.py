"""The dependency direction (README "Layout") is checked, not just written down: import-linter's
contracts in pyproject.toml ([tool.importlinter]) - quizzes is a leaf, the courses sub-packages are
layered, no import cycles inside a package. Function-local imports count too."""

import re
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


def test_the_course_layer_never_names_the_front_end():
    """Imports are not the only coupling: no URL name (`frontend:...`) or static path (`frontend/...`) of
    the front end in the course layer's code; the project's settings name what it needs
    (ILLUSTRATIONS_DIR, CERTIFICATE_ASSETS_DIR, LEARNER_PAGE_URLS), and courses.links reads them."""
    naming = re.compile(r"""frontend[:/]|["']frontend["']""")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "courses").rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if naming.search(line)
    ]
    assert found == [], "\n".join(found)
    assert naming.search('reverse("frontend:course")') and naming.search('BASE_DIR / "frontend" / "static"')
