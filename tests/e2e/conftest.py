"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser).

Under CI=true a missing browser fails the run; elsewhere the tests skip with the reason."""

import json
import os
from pathlib import Path

import pytest

from tests.browser import watch_csp

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "frontend" / "static" / "vendor" / "axe-4.14.1.min.js"

pytestmark = pytest.mark.e2e

# `chromium` (one browser per test session) is defined in tests/browser.py and registered in
# tests/conftest.py, so browser tests outside this folder (tests/security) share the same one.


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    violations = watch_csp(context, page)
    yield page
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core findings on the current page."""
    # Evaluated through the DevTools protocol: a <script> tag with inline content would (rightly) be
    # refused by the Content-Security-Policy.
    page.evaluate(AXE.read_text() + "\n;true")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "help": v["help"],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    if found:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "axe-findings.json").write_text(json.dumps(found, indent=2))
    return found
