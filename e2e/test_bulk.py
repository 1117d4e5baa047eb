"""Answering several faces at once (issue 14, "what users of Google Photos and Immich expect"):
on a person's page, pick the wrong faces and say "Not <name>" or move them to someone; in the
review grid, "No to all", or pick some and say who they are. One toast with one Undo each."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed, watch_console
from faces import services
from faces.models import Face, FaceRejection, Person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def main_face(photo) -> Face:
    return Face.objects.filter(photo=photo).order_by("-size_px", "id").first()


@pytest.fixture
def colin_page(live_server, celery_worker_process, faces_dir):
    """Colin Powell named on five photos, and on three of Tony Blair's by mistake."""
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    colin_photos = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:5])
    tony_photos = add_photos(alice, sorted((faces_dir / "Tony_Blair").glob("*.jpg"))[:3])
    wait_processed(alice, celery_worker_process)
    faces = [main_face(photo) for photo in colin_photos + tony_photos]
    colin = services.faces_assign(user=alice, face_ids=[f.id for f in faces], name="Colin Powell").person_created
    return alice, Person.objects.get(pk=colin), faces[:5], faces[5:]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_not_colin_for_the_picked_faces_then_undo(page: Page, live_server, colin_page, screenshots, viewport):
    alice, colin, colins, wrong = colin_page
    page.set_viewport_size(viewport)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/{colin.id}/")
    bar = page.locator("#person-bulk")
    expect(page.locator("input[name=face]")).to_have_count(8)
    expect(bar).to_be_hidden()  # nothing picked: no bar

    # Two picked with the pointer, the third from the keyboard.
    page.locator(f"input[name=face][value='{wrong[0].id}']").check()
    page.locator(f"input[name=face][value='{wrong[1].id}']").check()
    page.locator(f"input[name=face][value='{wrong[2].id}']").focus()
    page.keyboard.press("Space")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("3 of 8 selected")
    assert_accessible(page, f"person page with a selection ({viewport['width']} px)")
    # The bar stays in the window while the faces are in view, and on a phone fits its width.
    box = bar.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1
    if viewport == DESKTOP:
        screenshots(page, "person-bulk", show=page.locator("#person-photos"))

    bar.get_by_role("button", name="Not Colin Powell").click()
    expect(page.locator(".toast", has_text="Not Colin Powell: 3 faces, remembered.")).to_be_visible()
    expect(page.locator(".toast[data-undo]")).to_have_count(1)
    expect(page.locator("input[name=face]")).to_have_count(5)
    expect(bar).to_be_hidden()
    assert set(FaceRejection.objects.filter(person=colin).values_list("face_id", flat=True)) == {f.id for f in wrong}
    assert Face.objects.filter(pk__in=[f.id for f in wrong], person=colin).count() == 0

    page.locator(".toast[data-undo]").get_by_role("button", name="Undo").click()
    expect(page.locator(".message", has_text="Undone.")).to_be_visible()
    expect(page.locator("input[name=face]")).to_have_count(8)
    assert Face.objects.filter(pk__in=[f.id for f in wrong], person=colin, state=Face.State.CONFIRMED).count() == 3
    assert not FaceRejection.objects.filter(person=colin).exists()
    assert errors == [], errors


def test_move_the_picked_faces_to_their_person(page: Page, live_server, colin_page):
    alice, colin, colins, wrong = colin_page
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/{colin.id}/")
    page.get_by_role("button", name="Select all").click()
    page.get_by_role("button", name="Invert selection").click()
    expect(page.locator("#person-bulk")).to_be_hidden()
    # Shift+click picks the range from the last box clicked.
    boxes = page.locator("input[name=face]")
    boxes.nth(1).click()
    boxes.nth(4).click(modifiers=["Shift"])
    expect(page.locator("#person-bulk")).to_contain_text("4 of 8 selected")
    assert [boxes.nth(i).is_checked() for i in range(8)] == [False, True, True, True, True, False, False, False]
    page.get_by_role("button", name="Select none").click()
    expect(page.locator("#person-bulk")).to_be_hidden()
    for face in wrong:
        page.locator(f"input[name=face][value='{face.id}']").check()
    page.get_by_label("Move to").fill("Tony Blair")
    page.get_by_label("Move to").press("Enter")  # Enter moves (never "Not Colin Powell")
    expect(page.locator(".toast", has_text="Moved 3 faces to Tony Blair.")).to_be_visible()
    expect(page.locator("input[name=face]")).to_have_count(5)
    tony = Person.objects.get(owner=alice, name="Tony Blair")
    assert set(Face.objects.filter(person=tony, state=Face.State.CONFIRMED).values_list("id", flat=True)) == {
        f.id for f in wrong
    }
    assert not FaceRejection.objects.exists()
    assert errors == [], errors


# The review grid -------------------------------------------------------------------------------


def suggest(owner, photos, name: str) -> list[Face]:
    """ "Is this <name>?" about the main face of each photo (not recognisable, so the worker's
    re-match after each answer leaves the other questions alone; see e2e/test_review.py)."""
    person = Person.objects.create(owner=owner, name=name)
    faces = [main_face(photo) for photo in photos]
    Face.objects.filter(pk__in=[f.pk for f in faces]).update(
        state=Face.State.SUGGESTED, person=person, similarity=0.42, recognisable=False
    )
    return faces


@pytest.fixture
def review_grid(live_server, celery_worker_process, faces_dir):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    colin = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:5])
    tony = add_photos(alice, sorted((faces_dir / "Tony_Blair").glob("*.jpg"))[:4])
    wait_processed(alice, celery_worker_process)
    return alice, suggest(alice, colin, "Colin Powell"), suggest(alice, tony, "Tony Blair")


def test_no_to_all_on_the_grid_then_undo(page: Page, live_server, review_grid, screenshots):
    alice, colin_faces, tony_faces = review_grid
    asked = [f.id for f in colin_faces + tony_faces]
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/review/?mode=grid")
    expect(page.locator("#review-remaining")).to_contain_text("9 suggestions left")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        assert_accessible(page, f"review grid ({viewport['width']} px)")
    page.set_viewport_size(DESKTOP)
    page.locator(f"input[name=face][value='{tony_faces[0].id}']").check()
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        assert_accessible(page, f"review grid with a selection ({viewport['width']} px)")
    screenshots(page, "review-bulk", show=page.locator("#review-grid"))
    page.locator(f"input[name=face][value='{tony_faces[0].id}']").uncheck()

    page.get_by_role("button", name="No to all 9 on this page").click()
    expect(page.locator(".toast", has_text="No to 9 suggestions: remembered.")).to_be_visible()
    expect(page.get_by_role("heading", name="Nothing to review")).to_be_visible()
    assert Face.objects.filter(pk__in=asked, state=Face.State.SUGGESTED).count() == 0
    assert FaceRejection.objects.filter(face_id__in=asked).count() == 9

    page.locator(".toast[data-undo]").get_by_role("button", name="Undo").click()
    expect(page.locator(".message", has_text="Undone.")).to_be_visible()
    expect(page.locator("#review-remaining")).to_contain_text("9 suggestions left")
    assert Face.objects.filter(pk__in=asked, state=Face.State.SUGGESTED).count() == 9
    assert not FaceRejection.objects.exists()
    assert errors == [], errors


def test_yes_and_these_are_for_the_picked_suggestions(page: Page, live_server, review_grid):
    alice, colin_faces, tony_faces = review_grid
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/review/?mode=grid")
    bar = page.locator("#review-bulk")
    expect(bar.get_by_role("button", name="Yes to selected")).to_be_hidden()

    # Two of "Tony"'s are someone else: picked, and named by typing.
    for face in tony_faces[:2]:
        page.locator(f"input[name=face][value='{face.id}']").check()
    expect(bar).to_contain_text("2 of 9 selected")
    bar.get_by_label("These are").fill("Someone Else")
    bar.get_by_role("button", name="Name them").click()
    expect(page.locator(".toast", has_text="Named 2 faces Someone Else.")).to_be_visible()
    expect(page.locator("#review-remaining")).to_contain_text("7 suggestions left")

    # Colin's are all right: Select all within the grid, then un-pick Tony's.
    page.get_by_role("button", name="Select all").click()
    for face in tony_faces[2:]:
        page.locator(f"input[name=face][value='{face.id}']").uncheck()
    expect(bar).to_contain_text("5 of 7 selected")
    bar.get_by_role("button", name="Yes to selected").click()
    expect(page.locator(".toast", has_text=re.compile(r"Confirmed 5 faces of Colin Powell\."))).to_be_visible()
    expect(page.locator("#review-remaining")).to_contain_text("2 suggestions left")
    someone = Person.objects.get(owner=alice, name="Someone Else")
    assert Face.objects.filter(person=someone, state=Face.State.CONFIRMED).count() == 2
    assert Face.objects.filter(pk__in=[f.id for f in colin_faces], state=Face.State.CONFIRMED).count() == 5
    assert errors == [], errors
