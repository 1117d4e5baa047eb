"""Deleting a photo (issue 14, bug 7): it goes to the trash, the page goes on to the next photo
with Undo, the trash restores it with its names, and deleting for good removes its files."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed, watch_console
from faces.models import Face, Person
from gallery.models import Photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_a_deleted_photo_goes_to_the_trash_and_comes_back(page: Page, live_server, celery_worker_process, faces_dir):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    newest, middle, oldest = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:3])
    wait_processed(alice, celery_worker_process)
    # Oldest first in time: the timeline and the arrows go newest -> oldest.
    for n, photo in enumerate((oldest, middle, newest)):
        Photo.objects.filter(pk=photo.pk).update(taken_at=photo.taken_at.replace(year=2020 + n))
    face = Face.objects.filter(photo=middle).order_by("-size_px").first()
    colin = Person.objects.create(owner=alice, name="Colin Powell")
    Face.objects.filter(pk=face.pk).update(person=colin, state=Face.State.CONFIRMED)
    base = live_server.url

    errors = watch_console(page)
    log_in(page, base, alice)
    page.goto(f"{base}/photos/{middle.pk}/")
    page.get_by_role("button", name="Delete photo").click()
    # On to the next (older) photo: the deleted photo's address is gone from the address bar.
    expect(page).to_have_url(f"{base}/photos/{oldest.pk}/")
    toast = page.locator(".toast", has_text="Moved “Colin_Powell_0002.jpg” to the trash.")
    expect(toast).to_be_visible()
    assert Photo.objects.get(pk=middle.pk).deleted_at is not None
    page.locator(".toast[data-undo]").get_by_role("button", name="Undo").click()
    expect(page).to_have_url(f"{base}/photos/{middle.pk}/")
    expect(page.locator("a.face-box.face-named")).to_contain_text("Colin Powell")

    # Delete it again; the trash lists it and restores it with its name.
    page.get_by_role("button", name="Delete photo").click()
    expect(page).to_have_url(f"{base}/photos/{oldest.pk}/")
    page.goto(f"{base}/photos/")
    expect(page.locator("#timeline a.tile img")).to_have_count(2)
    page.get_by_role("link", name="Trash (1)").click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    assert_accessible(page, "trash")
    page.get_by_role("button", name="Restore Colin_Powell_0002.jpg").click()
    expect(page).to_have_url(f"{base}/photos/{middle.pk}/")
    expect(page.locator("a.face-box.face-named")).to_contain_text("Colin Powell")

    # The last photo deleted: back on the timeline; then deleted for good, files and all.
    page.goto(f"{base}/photos/{oldest.pk}/")
    page.get_by_role("button", name="Delete photo").click()
    expect(page).to_have_url(re.compile(rf"{base}/photos/({middle.pk}/)?$"))
    oldest.refresh_from_db()
    files = [n for n in (oldest.original.name, oldest.preview.name, oldest.thumbnail.name) if n]
    assert len(files) == 3
    page.goto(f"{base}/photos/trash/")
    page.get_by_role("button", name=f"Delete {oldest.original_filename} for good").click()
    expect(page.get_by_role("heading", name="The trash is empty")).to_be_visible()
    assert not Photo.objects.filter(pk=oldest.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert errors == [], errors
