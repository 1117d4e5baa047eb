"""What a person does in the browser, as helpers for the end-to-end tests."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from playwright.sync_api import Locator, Page, expect

from accounts.tests.flows import CODE_RE

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = {"serious", "critical"}
_axe = Axe()


def code_sent_to(address: str, *, after: int = 0) -> str:
    """The one-time code in the newest mail to `address` (sent after the first `after` mails)."""
    messages = [m for m in mail.outbox[after:] if address in m.to]
    assert messages, f"no mail to {address}"
    match = CODE_RE.search(messages[-1].body)
    assert match, messages[-1].body
    return match.group(1)


def sign_up(page: Page, base_url: str, email: str, password: str, name: str) -> None:
    """Sign up through the pages and enter the code from the mail: signed in and verified."""
    page.goto(f"{base_url}/")
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password (again)").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{base_url}/accounts/confirm-email/")
    page.get_by_label("Code").fill(code_sent_to(email))
    page.get_by_role("button", name="Confirm").click()
    # Into the gallery, not the home page that explains SmartGallery to visitors.
    expect(page).to_have_url(f"{base_url}/photos/")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign out")).to_be_visible()


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Password, then the code mailed to the address."""
    sent = len(mail.outbox)
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/accounts/login/code/confirm/")
    page.get_by_label("Code").fill(code_sent_to(email, after=sent))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{base_url}/photos/")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()


def drop_files(page: Page, selector: str, paths: list[Path]) -> None:
    """Drag files from the desktop onto `selector`: a real `drop` event carrying a DataTransfer
    built from the files' bytes, as the browser makes for a drop from the file manager."""
    files = [
        {
            "name": p.name,
            "type": "image/jpeg" if p.suffix.lower() in (".jpg", ".jpeg") else "image/png",
            "data": base64.b64encode(p.read_bytes()).decode(),
        }
        for p in paths
    ]
    transfer = page.evaluate_handle(
        """files => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, {type: f.type}));
            }
            return transfer;
        }""",
        files,
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 60,
    interval: float = 0.25,
    message: str | Callable[[], str] = "",
):
    """Poll a server-side condition (the worker's progress), for checks a page cannot show.
    `message` may be a callable, to say what was going on when the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError((message() if callable(message) else message) or f"not true after {timeout}s")


def assert_accessible(page: Page, label: str) -> list[dict]:
    """axe-core (bundled by axe-playwright-python, injected through the DevTools protocol, so
    our CSP does not block it): no serious or critical violations. Returns the minor ones."""
    results = _axe.run(page)
    violations = results.response["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, f"axe on {label}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}: "
        + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"]) for n in v["nodes"][:5])
        for v in blocking
    )
    return [{"page": label, "id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]


# The test photos are real people's, licensed for local testing only (shared/faces/MANIFEST.md):
# the published screenshots blur every photo and face crop; the interface around them is sharp.
# (Set through the CSSOM: our CSP blocks the <style> that Playwright's `style=` option would add.)
BLUR_IMAGES = "on => document.querySelectorAll('img').forEach(img => { img.style.filter = on ? 'blur(7px)' : ''; })"


# Scrolls an element to the top of the window, just under the sticky header.
SCROLL_UNDER_HEADER = """element => {
    element.scrollIntoView({block: "start"});
    const header = document.querySelector(".topbar");
    window.scrollBy(0, -((header ? header.getBoundingClientRect().height : 0) + 8));
}"""


def save_screenshots(page: Page, name: str, folder: Path, show: Locator | None = None) -> None:
    """The visible viewport (not the full page) on a desktop and a phone, as 256-colour PNGs
    to keep the files small. `show`: the part of the page to show, scrolled to the top of the
    window at each size (the same scroll offset lands elsewhere on a phone)."""
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or DESKTOP
    page.evaluate(BLUR_IMAGES, True)
    try:
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            if show is not None:
                show.evaluate(SCROLL_UNDER_HEADER)
            page.wait_for_timeout(150)
            path = folder / f"{name}-{label}.png"
            page.screenshot(path=str(path), animations="disabled", caret="initial")
            _shrink(path)
    finally:
        page.set_viewport_size(size)
        page.evaluate(BLUR_IMAGES, False)


def _shrink(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


# Quicker set-up for the tests of one page: the user and the photos are made on the server side
# (the story test signs up and uploads through the pages), the worker processes the photos.


def log_in(page: Page, base_url: str, user) -> None:
    """Sign the browser in as `user` with a session made on the server (no password + code)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base_url}])


def add_photos(owner, paths: list[Path]) -> list:
    """Upload through the upload service (validation, storage, queueing), as the page does."""
    from django.core.files import File

    from gallery.services import photo_create

    photos = []
    for path in paths:
        with path.open("rb") as stream:
            photo, _ = photo_create(owner=owner, file=File(stream, name=path.name), filename=path.name)
        photos.append(photo)
    return photos


def wait_processed(owner, worker=None, *, timeout: float = 180) -> None:
    """Until the worker has processed every photo of `owner`."""
    from django.db.models import Q

    from gallery.models import Photo

    pending = Photo.objects.filter(owner=owner, status__in=[Photo.Status.QUEUED, Photo.Status.PROCESSING])

    def log() -> str:
        return ":\n" + worker.log_text()[-3000:] if worker is not None else ""

    wait_until(lambda: not pending.exists(), timeout=timeout, message=lambda: f"{pending.count()} still pending{log()}")
    # A photo shown without its faces (status done, faces failed) is a failure of the worker too.
    failed = list(
        Photo.objects.filter(owner=owner)
        .filter(Q(status=Photo.Status.FAILED) | Q(faces_status=Photo.FacesStatus.FAILED))
        .values_list("last_error", "error_detail")
    )
    assert not failed, f"the worker failed photos: {failed}{log()}"


def watch_console(page: Page, *, expected_statuses: tuple[int, ...] = ()) -> list[str]:
    """Every console error and uncaught exception of the page from now on (CSP refusals
    included: Chromium reports them as console errors). Chromium also logs every answer with
    an error status; `expected_statuses` are those the test provokes on purpose (a rejected
    upload's 400, another user's 404).

    One list per page: the `page` fixture watches every test's page from the start and fails
    the test on any error at the end; a test that calls this gets that same list (to assert on
    it earlier) and adds its expected statuses."""
    watch = getattr(page, "_smartgallery_console", None)
    if watch is None:
        watch = _ConsoleWatch(page)
        page._smartgallery_console = watch
    watch.expected.update(expected_statuses)
    return watch.errors


class _ConsoleWatch:
    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.expected: set[int] = set()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def _console(self, page: Page, message) -> None:
        if message.type != "error":
            return
        expected = (f"the server responded with a status of {status} " for status in self.expected)
        if not any(e in message.text for e in expected):
            self.errors.append(f"{page.url}: {message.text}")


def wait_grouped(owner, *, faces: int, timeout: float = 90):
    """Until the worker's regrouping put at least `faces` unknown faces into one unnamed group
    and no regrouping is pending; returns that group."""
    from django.core.cache import cache

    from faces.models import Face, FaceGroup
    from faces.tasks import _flag

    def settled():
        if cache.get(_flag("regroup", owner.pk)):
            return None
        for group in FaceGroup.objects.filter(owner=owner, dismissed=False):
            if Face.objects.filter(group=group, state=Face.State.UNKNOWN).count() >= faces:
                return group
        return None

    return wait_until(settled, timeout=timeout, interval=0.5, message=f"no group of {faces} faces")
