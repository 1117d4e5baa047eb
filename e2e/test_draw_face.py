"""Draw a face (issue 17 item 1): a face the detector missed is drawn on the photo page with the
mouse, a finger or the keyboard, named (or left unknown) in the face dialog, measured by the
real worker and recognised like any other face."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed, wait_until, watch_console
from faces import services
from faces.models import Face

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def _display_point(page: Page, photo, x: float, y: float) -> tuple[float, float]:
    """A point in pixels of the original photo, on the screen."""
    rect = page.locator("#photo-frame img").bounding_box()
    return rect["x"] + rect["width"] * x / photo.width, rect["y"] + rect["height"] * y / photo.height


@pytest.fixture
def library(live_server, celery_worker_process, faces_dir):
    """alice: Obama named on one photo; another photo of him where the detector "missed" him
    (its face taken away); a park with nobody the detector sees."""
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    named, missed, park = add_photos(
        alice,
        [
            faces_dir / "Barack_Obama" / "fr_obama2.jpg",
            faces_dir / "Barack_Obama" / "fr_obama.jpg",
            faces_dir / "_noface" / "opencvcourse_park.jpg",
        ],
    )
    wait_processed(alice, celery_worker_process)
    services.face_assign(user=alice, face_id=named.faces.get().id, name="Barack Obama")
    lost = missed.faces.get()
    box = lost.box
    lost.delete()
    return alice, missed, box, park


def test_a_face_drawn_with_the_mouse_is_named_and_measured(page: Page, live_server, library, screenshots):
    alice, photo, box, _ = library
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    expect(page.locator(".face-box")).to_have_count(0)

    page.get_by_role("link", name="Add a face").click()
    expect(page.locator("#draw-bar")).to_be_visible()
    x1, y1, x2, y2 = box
    start = _display_point(page, photo, x1 - 20, y1 - 20)
    end = _display_point(page, photo, x2 + 20, y2 + 20)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()
    drawn = page.get_by_role("application", name="New face box")
    expect(drawn).to_be_focused()
    assert_accessible(page, "photo page, drawing a face")
    screenshots(page, "draw-face", show=page.locator(".photo-figure"))

    page.get_by_role("button", name="Name this face").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add a face")).to_be_visible()
    name_field = dialog.get_by_label("Who is this?")
    expect(name_field).to_be_focused()
    page.keyboard.type("Barack")  # the people's names are offered (datalist); the whole name is typed
    page.keyboard.type(" Obama")
    screenshots(page, "draw-face-dialog")
    # Drawn 20 px around the face, sent in pixels of the original: the page converted from its preview.
    sent = [float(dialog.locator(f"input[name={key}]").input_value()) for key in ("x1", "y1", "x2", "y2")]
    assert sent == pytest.approx([x1 - 20, y1 - 20, x2 + 20, y2 + 20], abs=6)
    page.keyboard.press("Enter")

    expect(page.get_by_text("Face added and named Barack Obama.")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(page.locator("#draw-bar")).to_be_hidden()
    expect(page.locator(".face-box")).to_have_count(1)
    expect(page.locator(".face-box .face-label")).to_have_text("Barack Obama")

    face = Face.objects.get(photo=photo)
    assert face.source == "drawn" and face.state == "confirmed" and face.person.name == "Barack Obama"
    wait_until(lambda: Face.objects.filter(pk=face.pk).exclude(model_id="").exists(), message="never measured")
    face.refresh_from_db()
    assert not face.centred_crop and len(face.landmarks) == 5 and face.recognisable
    assert face.box == pytest.approx(box, abs=8)  # the detector's outline of the face, found in the box


def test_a_face_placed_with_the_keyboard_is_left_unknown_and_cancel_draws_nothing(
    page: Page, live_server, library, screenshots
):
    alice, _, _, photo = library
    log_in(page, live_server.url, alice)
    url = f"{live_server.url}/photos/{photo.pk}/"
    page.goto(url)

    add = page.get_by_role("link", name="Add a face")
    add.focus()
    page.keyboard.press("Enter")
    drawn = page.get_by_role("application", name="New face box")
    expect(drawn).to_be_focused()
    page.keyboard.press("Escape")
    expect(drawn).to_have_count(0)
    expect(page.locator("#draw-bar")).to_be_hidden()
    expect(add).to_be_focused()

    page.keyboard.press("Enter")
    expect(drawn).to_be_focused()
    before = drawn.bounding_box()
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # moves the box, not to the next photo
    page.keyboard.press("Shift+ArrowDown")
    after = drawn.bounding_box()
    assert after["x"] > before["x"] + 10 and after["height"] > before["height"] + 2
    assert page.url == url
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Who is this?")).to_be_focused()
    page.keyboard.press("Enter")  # nothing typed: unknown

    expect(page.get_by_text("Face added as unknown.")).to_be_visible()
    expect(page.locator(".face-box .face-label")).to_have_text("Unknown person")
    face = Face.objects.get(photo=photo)
    width = photo.width * 0.25 * min(photo.width, photo.height) / photo.width
    assert face.x1 == pytest.approx((photo.width - width) / 2 + 3 * 0.02 * photo.width, abs=2)
    wait_until(lambda: Face.objects.filter(pk=face.pk).exclude(model_id="").exists(), message="never measured")
    face.refresh_from_db()
    assert face.centred_crop and face.recognisable

    page.reload()
    page.locator(".face-box").click()
    expect(dialog.get_by_text("no facial landmarks found, recognition may be weaker")).to_be_visible()
    screenshots(page, "draw-face-panel")


def test_a_finger_draws_the_box_too(browser, live_server, library):
    alice, photo, box, _ = library
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    errors = watch_console(page)
    try:
        log_in(page, live_server.url, alice)
        page.goto(f"{live_server.url}/photos/{photo.pk}/")
        page.get_by_role("link", name="Add a face").tap()
        x1, y1, x2, y2 = box
        start = _display_point(page, photo, x1, y1)
        end = _display_point(page, photo, x2, y2)
        touch = page.context.new_cdp_session(page)
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
        for step in range(1, 6):
            x = start[0] + (end[0] - start[0]) * step / 5
            y = start[1] + (end[1] - start[1]) * step / 5
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        # The finger's part is the drag. (Chromium's emulated touch often drops a tap that follows a
        # dispatched gesture too soon, so the button is clicked.)
        page.get_by_role("button", name="Name this face").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Who is this?").fill("Barack Obama")
        dialog.get_by_role("button", name="Add the face").click()
        expect(page.get_by_text("Face added and named Barack Obama.")).to_be_visible()
        face = Face.objects.get(photo=photo)
        # The page scrolled nowhere: the finger drew the face's own box.
        assert face.x1 == pytest.approx(x1, abs=8) and face.y2 == pytest.approx(y2, abs=8)
        assert errors == [], errors
    finally:
        context.close()
