"""Photo context (issue 14): a face shown for a decision shows the whole photo it comes from, the
face outlined: on hover (desktop, after a short delay), on a long press (touch) and with V on the
focused face; Escape, leaving it or a tap elsewhere closes it. In the review queue (card and
grid), the group cards and the group page, the unnamed faces and the faces that may not be Anna.
The page's shortcuts keep working, and the keyboard help lists V."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Browser, Page, expect

from accounts.tests.flows import make_verified_user
from e2e.conftest import DESKTOP, PHONE, SCREENSHOT_DIR
from e2e.helpers import BLUR_IMAGES, _shrink, assert_accessible, log_in, watch_console
from faces.models import Face, face_crop_upload_to
from gallery.models import derivative_upload_to
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

# The test photos are 250 x 250 portraits (shared/faces), the face about here.
BOX = (80, 70, 170, 180)


def _photo(owner, path: Path):
    """A processed photo whose preview is a real portrait (made on the server: no worker)."""
    from PIL import Image

    photo = PhotoFactory(owner=owner, stored=True)
    with Image.open(path) as image:
        photo.width, photo.height = image.size
    photo.preview.name = default_storage.save(
        derivative_upload_to(photo, "preview.jpg"), ContentFile(path.read_bytes())
    )
    photo.save()
    return photo


def _face(owner, photo, path: Path, **fields) -> Face:
    """A face at BOX with its crop cut from the portrait."""
    import io

    from PIL import Image

    face = FaceFactory(owner=owner, photo=photo, x1=BOX[0], y1=BOX[1], size=BOX[2] - BOX[0], **fields)
    face.y2 = BOX[3]
    with Image.open(path) as image:
        buffer = io.BytesIO()
        image.convert("RGB").crop(BOX).resize((112, 112)).save(buffer, "JPEG")
    face.crop.name = default_storage.save(face_crop_upload_to(face, ""), ContentFile(buffer.getvalue()))
    face.save()
    return face


@pytest.fixture
def library(faces_dir):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    portraits = (
        sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:4] + sorted((faces_dir / "Tony_Blair").glob("*.jpg"))[:4]
    )
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    named = [_face(alice, _photo(alice, p), p, person=anna) for p in portraits[:2]]
    anna.cover_face = named[0]
    anna.save()
    suggested = [
        _face(alice, _photo(alice, p), p, person=anna, state=Face.State.SUGGESTED, similarity=0.4, recognisable=False)
        for p in portraits[2:4]
    ]
    group = FaceGroupFactory(owner=alice, faces=0)
    grouped = [_face(alice, _photo(alice, p), p, group=group, recognisable=False) for p in portraits[4:7]]
    unnamed = _face(alice, _photo(alice, portraits[7]), portraits[7])
    return alice, anna, suggested, group, grouped, unnamed


def popover(page: Page):
    return page.locator("#photo-context")


def assert_shows(page: Page, face: Face) -> None:
    """The popover shows the face's photo (its preview, loaded), the face outlined where it is,
    and lies inside the window."""
    shown = popover(page)
    expect(shown).to_be_visible()
    photo = shown.locator("img")
    expect(photo).to_have_attribute("src", f"/photos/{face.photo_id}/preview.jpg")
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") > 0
    frame = shown.locator(".photo-context-frame").bounding_box()
    box = shown.locator(".photo-context-box").bounding_box()
    # The outline is around the face's box (BOX on a 250 px photo), 4 px outside it.
    scale = frame["width"] / 250
    assert abs(box["x"] + 4 - (frame["x"] + BOX[0] * scale)) < 2, (box, frame)
    assert abs(box["y"] + 4 - (frame["y"] + BOX[1] * scale)) < 2, (box, frame)
    assert abs(box["width"] - 8 - (BOX[2] - BOX[0]) * scale) < 2, (box, frame)
    viewport = page.viewport_size
    outer = shown.bounding_box()
    assert outer["x"] >= 0 and outer["y"] >= 0, outer
    assert outer["x"] + outer["width"] <= viewport["width"] and outer["y"] + outer["height"] <= viewport["height"], (
        outer
    )


def shoot_as_is(page: Page, name: str) -> None:
    """A screenshot of the window as it is (the shared helper resizes the window, which closes
    the photo), the photos blurred, when SMARTGALLERY_SCREENSHOTS=1."""
    if os.environ.get("SMARTGALLERY_SCREENSHOTS", "") in ("", "0", "false"):
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.evaluate(BLUR_IMAGES, True)
    try:
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), animations="disabled", caret="initial")
        _shrink(SCREENSHOT_DIR / f"{name}.png")
    finally:
        page.evaluate(BLUR_IMAGES, False)


def test_hover_and_the_v_key_show_the_whole_photo_on_every_decision_page(page: Page, live_server, library):
    alice, anna, suggested, group, grouped, unnamed = library
    errors = watch_console(page)
    base = live_server.url
    log_in(page, base, alice)

    # The review card: pointing at the face shows its photo after a short delay.
    page.goto(f"{base}/people/review/")
    card = page.locator("#review-card")
    asked = int(card.locator("a[href^='/people/faces/']").first.get_attribute("href").split("/")[3])
    face = Face.objects.get(pk=asked)
    thumb = card.locator("[data-photo-context]")
    expect(thumb).to_have_count(1)  # the face asked about, not Anna's cover
    thumb.hover()
    # Not at once: a pointer passing over a face shows nothing.
    assert page.evaluate("!document.querySelector('#photo-context:not([hidden])')")
    assert_shows(page, face)
    assert_accessible(page, "review card, photo shown")
    shoot_as_is(page, "photo-context-review-desktop")
    page.mouse.move(5, 5)
    expect(popover(page)).to_be_hidden()

    # The keyboard: V on the focused face, Escape closes; the review keys still work.
    card.locator(f"a[href='/people/faces/{asked}/']").focus()
    page.keyboard.press("v")
    assert_shows(page, face)
    expect(card.locator(f"a[href='/people/faces/{asked}/']")).to_have_attribute("aria-describedby", "photo-context")
    page.keyboard.press("Escape")
    expect(popover(page)).to_be_hidden()
    expect(page.locator("#face-dialog")).not_to_have_attribute("open", "")
    page.keyboard.press("v")
    expect(popover(page)).to_be_visible()
    page.keyboard.press("v")  # V again closes it
    expect(popover(page)).to_be_hidden()
    page.keyboard.press("?")
    help_ = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_).to_contain_text("The whole photo of the face in focus")
    page.keyboard.press("v")  # behind the help: nothing
    expect(popover(page)).to_be_hidden()
    page.keyboard.press("Escape")
    expect(help_).to_be_hidden()
    page.keyboard.press("ArrowRight")  # Skip: the next suggestion
    expect(page.locator(f"#review-card a[href='/people/faces/{asked}/']")).to_have_count(0)
    expect(page.locator("#review-card [data-photo-context]")).to_have_count(1)
    next_face = int(page.locator("#review-card a[href^='/people/faces/']").first.get_attribute("href").split("/")[3])
    assert next_face != asked
    page.keyboard.press("v")  # nothing in focus in the card: the card's one face
    assert_shows(page, Face.objects.get(pk=next_face))
    page.keyboard.press("y")  # Yes still answers (the photo leaves first)
    expect(popover(page)).to_be_hidden()
    expect(page.locator(".toast").first).to_be_visible()
    assert Face.objects.get(pk=next_face).state == Face.State.CONFIRMED

    # The review grid.
    page.goto(f"{base}/people/review/?mode=grid")
    tile = page.locator(f"#review-face-{asked} [data-photo-context]")
    tile.hover()
    assert_shows(page, face)
    assert_accessible(page, "review grid, photo shown")

    # The People page's group card, the group page (a checkbox in focus), the unnamed faces.
    page.goto(f"{base}/people/")
    page.locator(f"#group-{group.id} [data-photo-context]").first.hover()
    expect(popover(page)).to_be_visible()
    assert_accessible(page, "people, photo shown")
    shoot_as_is(page, "photo-context-people-desktop")
    page.goto(f"{base}/people/groups/{group.id}/")
    biggest = page.locator("input[data-pick]").first
    biggest.focus()
    page.keyboard.press("v")
    assert_shows(page, Face.objects.get(pk=int(biggest.get_attribute("value"))))
    page.keyboard.press("Space")  # the checkbox still ticks, and the photo leaves
    expect(biggest).to_be_checked()
    expect(popover(page)).to_be_hidden()
    page.goto(f"{base}/people/unnamed/")
    page.get_by_role("link", name="Who is this?").focus()  # the tile's button: its face
    page.keyboard.press("v")
    assert_shows(page, unnamed)
    assert_accessible(page, "unnamed faces, photo shown")
    # Faces that may not be Anna.
    page.goto(f"{base}/people/{anna.id}/outliers/")
    page.locator("[data-photo-context]").first.hover()
    expect(popover(page)).to_be_visible()
    assert_accessible(page, "outliers, photo shown")
    # The pointer leaves: the photo goes. (Left under the pointer, whether the resize below
    # counts as leaving is up to the browser, and V on the same face would then close it.)
    page.mouse.move(0, 0)
    expect(popover(page)).to_be_hidden()
    for width in (PHONE, DESKTOP):
        page.set_viewport_size(width)
        page.locator("input[data-pick]").first.focus()
        # Focusing scrolls the face into view, and a scroll hides the photo (context.js): let
        # the scroll events of that frame pass before V, or they would close what V opened.
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        page.keyboard.press("v")
        expect(popover(page)).to_be_visible()
        assert_accessible(page, f"outliers, photo shown, {width['width']} px")
        shoot_as_is(page, f"photo-context-outliers-{'phone' if width == PHONE else 'desktop'}")
        page.keyboard.press("Escape")
    assert errors == [], errors


def test_a_long_press_shows_the_whole_photo_on_a_phone(browser: Browser, live_server, library):
    alice, anna, suggested, group, grouped, unnamed = library
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="en-GB")
    page = context.new_page()
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/review/?mode=grid")
    cdp = context.new_cdp_session(page)
    menus = []
    page.expose_function("contextMenuShown", lambda: menus.append(1))
    page.evaluate(
        "document.addEventListener('contextmenu', e => { if (!e.defaultPrevented) window.contextMenuShown(); })"
    )

    def touch(locator, hold_ms: int) -> None:
        box = locator.bounding_box()
        point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        page.wait_for_timeout(hold_ms)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    face = suggested[0]
    thumb = page.locator(f"#review-face-{face.id} [data-photo-context]")
    thumb.scroll_into_view_if_needed()
    touch(thumb, 800)
    assert_shows(page, face)  # inside the 390 px window
    expect(page.locator("#face-dialog")).not_to_have_attribute("open", "")  # the press did not open the face
    assert menus == []
    assert page.evaluate("String(window.getSelection())") == ""
    assert_accessible(page, "review grid on a phone, photo shown")
    shoot_as_is(page, "photo-context-press-phone")
    # A tap elsewhere closes it; a short tap on a face opens the face as before.
    touch(page.get_by_role("heading", name=re.compile("Review")), 50)
    expect(popover(page)).to_be_hidden()
    touch(thumb, 50)
    expect(page.locator("#face-dialog")).to_have_attribute("open", "")
    expect(popover(page)).to_be_hidden()
    context.close()
    assert errors == [], errors
