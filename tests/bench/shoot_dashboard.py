"""Screenshots of the supervisor dashboard against a running server with a generated demo organisation
(manage.py generate_demo_org). Not collected by pytest (tests/bench/conftest.py ignores this folder).

    DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/python tests/bench/shoot_dashboard.py \
        --base-url http://127.0.0.1:8765 --username demo-top --password ... [--person-id N --quiz-id N]

Debian's Chromium through Playwright (never a downloaded browser), with the flags of DESIGN.md. Writes
test-artifacts/screenshots/dashboard-{matrix,overdue,person,quiz-statistics,completions}.png; the quiz
statistics and completions shots wait until Chart.js has drawn the chart.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CHART_DRAWN = """(id) => {
    const canvas = document.getElementById(id);
    if (!window.Chart || !canvas || !Chart.getChart(canvas)) return false;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
}"""


def main() -> int:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--username", default="demo-top")
    parser.add_argument("--password", required=True)
    parser.add_argument("--person-id", type=int, required=True)
    parser.add_argument("--quiz-id", type=int, required=True)
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    base = args.base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": args.width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30000)
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", args.username)
        page.fill("#id_password", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        shots = [
            ("matrix", "/team/", None),
            ("overdue", "/team/overdue/", None),
            ("person", f"/team/people/{args.person_id}/", None),
            ("quiz-statistics", f"/team/quizzes/{args.quiz_id}/", "score-histogram"),
            ("completions", "/team/completions/", "completions-chart"),
        ]
        for name, path, chart in shots:
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            if chart:
                page.wait_for_function(CHART_DRAWN, arg=chart)
            if name == "person":
                for details in page.locator("details").all()[:2]:
                    details.evaluate("d => d.open = true")  # show the answers of the latest attempts
            path_out = OUT / f"dashboard-{name}.png"
            page.screenshot(path=str(path_out), full_page=True)
            print(f"{path_out.relative_to(ROOT)}: {page.title()}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
