"""Browser fixtures for the end-to-end tests: Debian's Chromium driven by Playwright against
pytest-django's live server (a thread of this process, so `mail.outbox` holds the sent mails)
and the real Celery worker of the session (`celery_worker_process`, same test database).

Never `playwright install`: the browser is the system's /usr/bin/chromium (CI installs it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the live server and the ORM calls of
# the test itself are plain synchronous Django code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SMARTGALLERY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def pytest_collection_modifyitems(items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch arguments, pointed at Debian's Chromium."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": DESKTOP, "locale": "en-GB", "timezone_id": "Europe/London"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Sign-ups and sign-ins from one IP in a short run would hit allauth's per-IP limits."""
    from accounts.tests.conftest import _clear_rate_limits

    _clear_rate_limits()
    yield


@pytest.fixture
def screenshots():
    """`shoot(page, name)` saves desktop and phone screenshots of the page when
    SMARTGALLERY_SCREENSHOTS=1 (docs/screenshots/<name>-desktop.png and -phone.png)."""
    from e2e.helpers import save_screenshots

    enabled = os.environ.get("SMARTGALLERY_SCREENSHOTS", "") not in ("", "0", "false")

    def shoot(page, name: str) -> None:
        if enabled:
            save_screenshots(page, name, SCREENSHOT_DIR)

    return shoot
