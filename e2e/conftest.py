"""Browser fixtures for the end-to-end tests: Debian's Chromium driven by Playwright against
pytest-django's live server (a thread of this process, so `mail.outbox` holds the sent mails)
and the real Celery worker of the session (`celery_worker_process`, same test database).

Never `playwright install`: the browser is the system's /usr/bin/chromium (CI installs it).
Playwright itself is driven directly (sync_playwright), not through pytest-playwright's fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("SMARTGALLERY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@contextmanager
def _async_unsafe_allowed():
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


# Playwright's sync API keeps an event loop running in this thread, so Django's async-safety
# check would refuse the plain synchronous ORM calls of the test, the database set-up and the
# flush. Allowed only while an e2e test is set up, runs and is torn down (pytest calls these
# hooks of a conftest for the items of its own folder only), not for the whole process: other
# tests run `manage.py check --deploy`, which rightly refuses the variable.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _async_unsafe_allowed():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _async_unsafe_allowed():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with _async_unsafe_allowed():
        return (yield)


def pytest_collection_modifyitems(items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# Our own fixtures instead of pytest-playwright's session-wide ones: Playwright's sync API marks
# its event loop as running in this thread for as long as it is started, which would make every
# later test's ORM call an error. Started per module, it is gone before other folders' tests run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run should have installed it")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab. No page it shows may log a console error (a CSP refusal, a failed
    request, an uncaught exception): checked at the end of every test (issue 14, bug 9). A test
    that provokes an error status on purpose says so with helpers.watch_console."""
    from e2e.helpers import watch_console

    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    tab = context.new_page()
    errors = watch_console(tab)
    yield tab
    context.close()
    assert errors == [], "console errors:\n" + "\n".join(errors)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Sign-ups and sign-ins from one IP in a short run would hit allauth's per-IP limits."""
    from accounts.tests.conftest import _clear_rate_limits

    _clear_rate_limits()
    yield


@pytest.fixture
def screenshots():
    """`shoot(page, name)` saves desktop and phone screenshots of the page when
    SMARTGALLERY_SCREENSHOTS=1 (docs/screenshots/<name>-desktop.png and -phone.png);
    `shoot(page, name, show=locator)` scrolls that part of the page to the top first."""
    from e2e.helpers import save_screenshots

    enabled = os.environ.get("SMARTGALLERY_SCREENSHOTS", "") not in ("", "0", "false")

    def shoot(page, name: str, show=None) -> None:
        if enabled:
            save_screenshots(page, name, SCREENSHOT_DIR, show=show)

    return shoot
