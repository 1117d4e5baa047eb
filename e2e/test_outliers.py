"""Faces that may not belong (issue 17, item 2): a face of someone else confirmed by mistake
comes first on "Faces that may not be Colin Powell", and the user moves it to its person."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed, watch_console
from faces import services
from faces.models import Face, Person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def main_face(photo) -> Face:
    return Face.objects.filter(photo=photo).order_by("-size_px", "id").first()


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_a_wrong_face_is_found_and_moved_to_its_person(
    page: Page, live_server, celery_worker_process, faces_dir, screenshots, viewport
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    colin_photos = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:6])
    (tony_photo,) = add_photos(alice, [faces_dir / "Tony_Blair" / "Tony_Blair_0003.jpg"])
    wait_processed(alice, celery_worker_process)
    # Alice named Colin on six photos, and once clicked "Yes" on Tony by mistake.
    colin = services.face_assign(user=alice, face_id=main_face(colin_photos[0]).id, name="Colin Powell").person_created
    for photo in colin_photos[1:]:
        services.face_assign(user=alice, face_id=main_face(photo).id, person_id=colin)
    wrong = main_face(tony_photo)
    services.face_assign(user=alice, face_id=wrong.id, person_id=colin)

    page.set_viewport_size(viewport)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/{colin}/")
    page.get_by_role("link", name="Faces that may not be Colin Powell…").click()
    expect(page.get_by_role("heading", name="Faces that may not be Colin Powell")).to_be_visible()

    # The mistake comes first; the user looks at it and picks it.
    boxes = page.locator("input[name=face]")
    expect(boxes.first).to_have_attribute("value", str(wrong.id))
    page.locator(f"label[for=pick-{wrong.id}]").click()
    total = boxes.count()
    expect(page.get_by_text(f"1 of {total} selected")).to_be_visible()
    page.get_by_label("Who are the selected faces?").fill("Tony Blair")
    if viewport["width"] > 400:  # once: the page is the same, and the shots are taken at both sizes
        assert_accessible(page, "faces that may not be")
        screenshots(page, "outliers")
    page.get_by_role("button", name="Move the selected faces").click()

    expect(page.locator(".message", has_text="Moved 1 face to Tony Blair.")).to_be_visible()
    expect(page.locator(f"input[name=face][value='{wrong.id}']")).to_have_count(0)
    wrong.refresh_from_db()
    tony = Person.objects.get(owner=alice, name="Tony Blair")
    assert (wrong.state, wrong.person_id) == (Face.State.CONFIRMED, tony.id)
    assert Face.objects.filter(person_id=colin, state=Face.State.CONFIRMED).count() == 6

    # Undo puts it back where it was.
    page.locator(".toast[data-undo]").get_by_role("button", name="Undo").click()
    expect(page.locator(".message", has_text="Undone.")).to_be_visible()
    expect(page.locator(f"input[name=face][value='{wrong.id}']")).to_have_count(1)
    wrong.refresh_from_db()
    assert (wrong.state, wrong.person_id) == (Face.State.CONFIRMED, colin)
    assert errors == [], errors
