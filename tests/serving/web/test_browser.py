"""The credit office's pages in a real browser: headless Chromium against a real server.

``serving.cli.serve.serve`` runs the county under uvicorn (two workers: the session cookie
signed by one must be accepted by the other) on a free port of 127.0.0.1; Playwright drives
Debian's Chromium (``scripts/browser.sh`` installs it; Playwright's own browser download is
never used). The test logs in with a credit-office key, reads the warnings list, opens an
enterprise page and counts the nodes of its network picture, then dispatches and
acknowledges a warning by clicking, and checks the store.

Without Chromium (or Playwright) the test is skipped, except on CI (``CI=true``), where it
fails. ``CREDLINK_UPDATE_SCREENSHOT=1`` also copies the entity page's screenshot to
``docs/entity-page.png``; ``CREDLINK_CHROMIUM`` names another Chromium binary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from risk.warnings import WarningStatus, get_warning, list_warnings, warning_events
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty, running_server


@pytest.fixture(scope="module")
def api_county(own_county: ApiCounty) -> ApiCounty:
    """This module moves a warning: a county of its own."""
    return own_county


pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
SCREENSHOT = REPO / "docs" / "entity-page.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def _unavailable(reason: str) -> None:
    message = f"{reason}; install it with `bash scripts/browser.sh` (Debian chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser test: {message}")
    pytest.skip(message)


def _chromium() -> str:
    for candidate in (os.environ.get("CREDLINK_CHROMIUM"), shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    _unavailable("Chromium is not installed")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path and Playwright's presence, checked before any server starts."""
    executable = _chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    return executable


@pytest.fixture(scope="module")
def server(
    chromium: str, api_county: ApiCounty, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("uvicorn") / "server.log"
    with running_server(api_county, log_path, workers=2) as base:
        yield base


@pytest.fixture
def page(chromium: str, tmp_path: Path) -> Iterator[Any]:
    """A page of a fresh headless Chromium profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1366, "height": 900},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()


def test_the_credit_office_works_a_warning_in_the_browser(
    server: str, page: Any, api_county: ApiCounty, tmp_path: Path
) -> None:
    # Log in: the pages send us to the login form and back.
    page.goto(f"{server}/ui/warnings")
    assert "/ui/login" in page.url
    page.fill("#api_key", api_county.tokens[KeyRole.credit_office])
    page.click("button:has-text('登录')")
    page.wait_for_url(f"{server}/ui/warnings")
    assert page.inner_text("h1") == "屡禁不止、屡罚不改预警"
    assert page.inner_text("p.flash.ok") == "欢迎，清源县信用办/李四。"
    assert int(page.inner_text("#total")) == 17
    assert page.locator("tr[data-warning-id]").count() == 17

    # Filter by level, then by regulator.
    page.select_option("select[name=level]", "red")
    page.click("button:has-text('筛选')")
    page.wait_for_url("**/ui/warnings?level=red*")
    red = list_warnings(api_county.engine, level="red").total
    assert int(page.inner_text("#total")) == red

    # An enterprise page with its network picture.
    warning = list_warnings(api_county.engine, uscc=api_county.warned_uscc).items[0]
    page.goto(f"{server}/ui/warnings")
    page.click(f"tr[data-warning-id='{warning.id}'] a.entity")
    page.wait_for_url(f"{server}/ui/entities/{api_county.warned_uscc}")
    assert page.locator("svg.network").is_visible()
    nodes = page.locator("svg g.node")
    assert nodes.count() >= 2
    assert page.locator("svg g.node.center").count() == 1
    assert page.locator("svg g.node.person").count() >= 1
    assert page.locator("svg g.edge").count() >= 1
    names = page.locator("svg g.node.person title").all_text_contents()
    assert names and all("*" in name.splitlines()[0] for name in names)  # masked
    screenshot = tmp_path / "entity-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("CREDLINK_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, SCREENSHOT)

    # Dispatch, then acknowledge the warning by clicking on its page.
    page.goto(f"{server}/ui/warnings/{warning.id}")
    assert warning.status == WarningStatus.new
    page.fill("form.actions input[name=note]", "已通报主管部门")
    page.click("form.actions button[value=dispatched]")
    page.wait_for_selector("p.flash.ok")
    assert page.inner_text("p.flash.ok") == f"预警 {warning.id} 已改为「已通报」"
    page.fill("form.actions input[name=note]", "主管部门已签收")
    page.click("form.actions button[value=acknowledged]")
    page.wait_for_selector("p.flash.ok >> text=已签收")
    assert get_warning(api_county.engine, warning.id).status == WarningStatus.acknowledged
    events = warning_events(api_county.engine, warning.id)
    assert [(e.to_status, e.actor, e.note) for e in events[1:]] == [
        (WarningStatus.dispatched, "清源县信用办/李四", "已通报主管部门"),
        (WarningStatus.acknowledged, "清源县信用办/李四", "主管部门已签收"),
    ]
    page.screenshot(path=str(tmp_path / "warning-acknowledged.png"), full_page=True)

    # Log out: the pages ask for the key again.
    page.click("header button:has-text('退出')")
    page.wait_for_url(f"{server}/ui/login")
    page.goto(f"{server}/ui/warnings")
    assert "/ui/login" in page.url
