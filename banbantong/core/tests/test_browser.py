"""One real browser: log in through the page and read the dashboard figures.

Runs in headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) driven by
Playwright. Marked `browser`: `make test` skips it, `.ci/run` runs it.
"""

from __future__ import annotations

import os
import shutil

import pytest

from banbantong.conftest import PASSWORD, World

CHROMIUM = os.environ.get("BBT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = os.environ.get("BBT_SCREENSHOT_DIR", "")

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium package")
    # Playwright's sync API runs an event loop in this thread; the ORM work is all done before.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = context.new_page()
        yield page
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_login_and_see_dashboard_figures(world: World, live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-figure=classes]")
    assert page.inner_text("[data-figure=schools]").strip() == "2"
    assert page.inner_text("[data-figure=classes]").strip() == "3"
    assert page.inner_text("[data-figure=built]").strip() == "1"
    assert "33.3" in page.inner_text("[data-figure=coverage]")
    if SCREENSHOT_DIR:
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "dashboard.png"), full_page=True)
    # The class list is one click away and shows only county A.
    page.click("nav >> text=教学班")
    page.wait_for_selector("table.table")
    body = page.inner_text("main")
    assert "文峰中心小学" in body and "金川" not in body
