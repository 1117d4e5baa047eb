"""The face dialog (issue 14, bug 1): typing a name and pressing Enter names the face; it never
confirms the suggestion the dialog asks about."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, log_in, wait_processed, watch_console
from faces.models import Face, Person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_enter_in_the_name_field_names_the_face_instead_of_confirming(
    page: Page, live_server, celery_worker_process, faces_dir
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    (photo,) = add_photos(alice, [faces_dir / "Tony_Blair" / "Tony_Blair_0002.jpg"])
    wait_processed(alice, celery_worker_process)
    # Recognition was unsure and asks "Is this Colin Powell?" about Tony Blair's face.
    colin = Person.objects.create(owner=alice, name="Colin Powell")
    face = Face.objects.filter(photo=photo).order_by("-size_px").first()
    Face.objects.filter(pk=face.pk).update(state=Face.State.SUGGESTED, person=colin, similarity=0.41)

    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    page.locator(f"#face-{face.pk}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Is this Colin Powell?")).to_be_visible()
    name_field = dialog.get_by_label("Someone else? Their name")
    expect(name_field).to_be_focused()

    page.keyboard.type("Tony Blair")
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading", name="Tony Blair")).to_be_visible()
    face.refresh_from_db()
    assert face.person.name == "Tony Blair" and face.state == Face.State.CONFIRMED
    assert not Face.objects.filter(person=colin, state=Face.State.CONFIRMED).exists()
    assert errors == [], errors
