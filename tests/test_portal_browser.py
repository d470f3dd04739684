"""The governance portal in a real browser: Debian's Chromium driven by Playwright.

The portal the demo pipeline wrote (``<data dir>/portal``, by the asset ``governance/portal``)
is served from 127.0.0.1 and opened from ``file://``; every request the browser makes is
routed through the test, and any that would leave the machine fails it. Screenshots go to
``COMMONGROUND_SCREENSHOT_DIR`` when set, else to the test's temporary folder.

Without ``/usr/bin/chromium`` or the ``playwright`` package the test is skipped, unless
``COMMONGROUND_REQUIRE_SERVICES=1`` (CI): then it fails. Playwright's own browser downloads
are never used (``executable_path``).
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from services import REQUIRE_SERVICES

from orchestration.portal import build_portal, file_name

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT_DIR = "COMMONGROUND_SCREENSHOT_DIR"
COLUMN = "gross_pay"
DATASET = "conformed.income"
STAGED = "staging.stg_hmrc__paye_income"
RAW = "raw.hmrc__paye_income"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SERVICES}=1, so this is an error, not a skip)")
    pytest.skip(reason)


@pytest.fixture
def sync_playwright():
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    return sync_playwright


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def served(demo_warehouse) -> Iterator[tuple[Path, str]]:
    """The demo's portal folder and the 127.0.0.1 address it is served from."""
    data_dir, _ = demo_warehouse
    portal = data_dir / "portal"
    assert (portal / "index.html").exists(), "the pipeline run did not write the portal"
    handler = functools.partial(_QuietHandler, directory=str(portal))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield portal, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(SCREENSHOT_DIR) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _runs_of(data_dir: Path, dataset: str) -> int:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select count(distinct run_id) from governance.quality_results where dataset = ?",
            [dataset],
        ).fetchone()[0]


def test_portal_in_a_real_browser(demo_warehouse, served, screenshots, sync_playwright):
    data_dir, _ = demo_warehouse
    portal, base = served
    requests: list[str] = []
    outside: list[str] = []
    problems: list[str] = []

    def route(request_route):
        url = request_route.request.url
        requests.append(url)
        if url.startswith((base, "file://")):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            context.route("**/*", route)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # Search for a column and open it.
            page.goto(base + "index.html")
            page.fill("#search", COLUMN)
            hit = page.locator(f'#results a[href="datasets/{file_name(DATASET)}#col-{COLUMN}"]')
            hit.wait_for()
            assert page.locator("#results li").count() >= 2
            page.screenshot(path=str(screenshots / "01-index-search.png"), full_page=False)
            hit.click()
            page.wait_for_url(f"**/{file_name(DATASET)}#col-{COLUMN}")
            assert page.locator(f"tr#col-{COLUMN}").is_visible()
            assert page.locator("svg.lineage").is_visible()
            page.screenshot(path=str(screenshots / "02-dataset-page.png"), full_page=True)

            # The declaration renders as HTML, with the reason each target is met.
            declaration = page.locator("div.declaration")
            assert declaration.locator("h3").first.inner_text().startswith("Quality declaration")
            assert declaration.locator("table").count() >= 1
            text = declaration.inner_text()
            assert "**" not in text and "|---" not in text
            assert page.locator("table.scorecard td", has_text="met:").count() >= 1
            declaration.screenshot(path=str(screenshots / "03-declaration.png"))

            # Follow the lineage drawing upstream to the delivery the data came from.
            page.locator(f'svg.lineage a[data-node="{STAGED}"]').click()
            page.wait_for_url(f"**/{file_name(STAGED)}")
            page.locator(f'svg.lineage a[data-node="{RAW}"]').click()
            page.wait_for_url(f"**/{file_name(RAW)}")
            assert page.locator("h1").inner_text() == RAW
            assert (
                page.locator('svg.lineage g[data-node="landing:landing/hmrc/paye_income"]').count()
                == 1
            )
            assert (
                "urn:commonground:hmrc:paye_income" in page.locator("#contract + dl").inner_text()
            )
            page.locator(".lineage-wrap").first.screenshot(
                path=str(screenshots / "04-lineage-to-source.png")
            )

            # The scorecard chart has a point per run of the raw table's checks.
            runs = min(10, _runs_of(data_dir, RAW))
            chart = page.locator("svg.run-chart")
            assert runs >= 1
            assert chart.get_attribute("data-points") == str(runs)
            assert chart.locator("circle.run-point").count() == runs
            page.locator("#quality").scroll_into_view_if_needed()
            chart.screenshot(path=str(screenshots / "05-scorecard-chart.png"))

            # The quality results pages replace the CDN-bound Data Docs.
            page.goto(base + f"quality/{file_name(RAW)}")
            assert page.locator("table.checks tbody tr").count() >= 1
            page.screenshot(path=str(screenshots / "06-quality-page.png"), full_page=True)
            page.goto(base + "departments/hmrc.html")
            assert page.locator("#maturity").is_visible()
            page.screenshot(path=str(screenshots / "07-department.png"), full_page=True)

            # Search works from file:// too, with no server at all.
            page.goto((portal / "index.html").as_uri() + "?q=postcode")
            page.locator("#results li").first.wait_for()
            assert "match" in page.locator("#result-count").inner_text()
            page.screenshot(path=str(screenshots / "08-file-search.png"))
        finally:
            browser.close()

    assert not outside, f"requests left the machine: {outside}"
    assert all(u.startswith((base, "file://")) for u in requests), requests
    assert not problems, f"console errors (a blocked script or style?): {problems}"
    assert (screenshots / "05-scorecard-chart.png").stat().st_size > 0


def test_the_portal_is_the_same_when_rebuilt(demo_warehouse, tmp_path):
    """Two builds from the same warehouse give byte-identical files."""
    data_dir, _ = demo_warehouse
    first = build_portal(data_dir, tmp_path / "one").path
    second = build_portal(data_dir, tmp_path / "two").path
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
