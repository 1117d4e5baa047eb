"""The review queue (issue 14, bugs 2 and 3): any answer moves the queue on, repeated answers
share one toast with one "Undo all", at most three toasts and never over the control just used,
and a person's section goes with their last suggestion."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, log_in, wait_processed, watch_console
from faces.models import Face, Person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def suggest(owner, photos, name: str) -> list[Face]:
    """Recognition was unsure: "Is this <name>?" about the main face of each photo.

    The faces are marked not recognisable, so the re-match that follows each answer (the real
    worker's) leaves the other questions of this test alone; recognition's own suggestions are
    measured by evaluate_recognition, this test is about the page."""
    person = Person.objects.create(owner=owner, name=name)
    faces = [Face.objects.filter(photo=photo).order_by("-size_px", "id").first() for photo in photos]
    Face.objects.filter(pk__in=[f.pk for f in faces]).update(
        state=Face.State.SUGGESTED, person=person, similarity=0.42, recognisable=False
    )
    return faces


@pytest.fixture
def library(live_server, celery_worker_process, faces_dir):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    colin = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:5])
    tony = add_photos(alice, sorted((faces_dir / "Tony_Blair").glob("*.jpg"))[:4])
    wait_processed(alice, celery_worker_process)
    return alice, suggest(alice, colin, "Colin Powell"), suggest(alice, tony, "Tony Blair")


def test_answering_in_the_face_dialog_moves_the_card_on(page: Page, live_server, library):
    alice, colin_faces, tony_faces = library
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/review/")
    card = page.locator("#review-card")
    expect(card.get_by_role("heading", name=re.compile(r"^Is this Colin Powell"))).to_be_visible()
    asked = int(card.locator("a[href^='/people/faces/']").first.get_attribute("href").split("/")[3])

    # The face itself opens the dialog; naming it there is an answer too.
    card.locator(f"a[href='/people/faces/{asked}/']").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Someone else? Their name").fill("Someone Else")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("heading", name="Someone Else")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(card.locator(f"a[href='/people/faces/{asked}/']")).to_have_count(0)
    expect(card).to_contain_text("8 suggestions left")
    assert errors == [], errors


def toast_boxes(page: Page) -> list[dict]:
    return [t.bounding_box() for t in page.locator("#messages .toast").all() if t.is_visible()]


def intersects(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_repeated_answers_share_one_toast_that_never_covers_the_buttons(page: Page, live_server, library, viewport):
    alice, colin_faces, tony_faces = library
    page.set_viewport_size(viewport)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/review/?mode=grid")
    tony = page.locator("section.review-person", has_text="Is this Tony Blair?")
    expect(tony).to_contain_text("4 suggestions")

    # "No" down Tony's tiles: one toast that counts them, never over the next button to press.
    for answered in range(1, 5):
        button = tony.get_by_role("button", name="No, not Tony Blair").first
        button.scroll_into_view_if_needed()
        where = button.bounding_box()
        button.click()
        expect(page.locator("#review-remaining")).to_contain_text(f"{9 - answered} suggestions left")
        toasts = page.locator("#messages .toast")
        expect(toasts).to_have_count(1)
        expect(toasts).to_contain_text("Not Tony Blair: remembered." + (f" ×{answered}" if answered > 1 else ""))
        for box in toast_boxes(page):
            assert not intersects(box, where), f"a toast covers the button just pressed ({answered})"
    # His last suggestion answered, his section goes (no "0 suggestions" header left behind).
    expect(tony).to_have_count(0)
    assert Face.objects.filter(pk__in=[f.pk for f in tony_faces], state=Face.State.SUGGESTED).count() == 0

    # One "Undo all" puts the four questions back.
    page.locator("#messages .toast").get_by_role("button", name="Undo all").click()
    expect(page.locator("section.review-person", has_text="Is this Tony Blair?")).to_contain_text("4 suggestions")
    assert Face.objects.filter(pk__in=[f.pk for f in tony_faces], state=Face.State.SUGGESTED).count() == 4

    # Different answers each get a toast, at most three at once; the counts follow.
    colin = page.locator("section.review-person", has_text="Is this Colin Powell?")
    colin.get_by_role("button", name="No, not Colin Powell").first.click()
    expect(colin).to_contain_text("4 suggestions")
    colin.get_by_role("button", name="Yes, Colin Powell").first.click()
    expect(colin).to_contain_text("3 suggestions")
    tony = page.locator("section.review-person", has_text="Is this Tony Blair?")
    tony.get_by_role("button", name="Yes, Tony Blair").first.click()
    expect(tony).to_contain_text("3 suggestions")
    button = colin.get_by_role("button", name=re.compile("^No, not Colin Powell")).first
    where = button.bounding_box()
    button.click()
    expect(colin).to_contain_text("2 suggestions")
    expect(page.locator("#messages .toast").last).to_contain_text("Not Colin Powell: remembered.")
    # The oldest toast goes when the new one is loaded (htmx:load, after the swap settles), not
    # in the same instant the new one appears: wait for it rather than count at once.
    page.wait_for_function("() => document.querySelectorAll('#messages .toast').length <= 3", timeout=5000)
    for box in toast_boxes(page):
        assert not intersects(box, where), "a toast covers the button just pressed"
    assert errors == [], errors
