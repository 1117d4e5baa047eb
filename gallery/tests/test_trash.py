"""The trash (issue 14, bug 7): a deleted photo leaves every page at once, can be restored
within 30 days with its faces and names, and is then deleted for good by the sweeper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from faces.models import Face, Person
from gallery import services
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def stored_names(photo: Photo) -> list[str]:
    names = [photo.original.name, photo.preview.name, photo.thumbnail.name]
    names += [f.crop.name for f in Face.objects.filter(photo=photo) if f.crop.name]
    return [n for n in names if n]


@pytest.fixture
def named_photo(alice):
    """A photo with a face named Anna, and its files in storage."""
    photo = PhotoFactory(owner=alice, stored=True, original_filename="beach.jpg")
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    FaceFactory(owner=alice, photo=photo, person=anna, crop=True)
    return photo


def test_delete_moves_the_photo_to_the_trash_and_goes_on_to_the_next_one(alice_client, alice, named_photo):
    older = PhotoFactory(owner=alice, taken_at=named_photo.taken_at - timedelta(days=1))
    response = alice_client.post(reverse("gallery:delete", args=[named_photo.pk]), **HX)
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("gallery:photo", args=[older.pk])
    named_photo.refresh_from_db()
    assert named_photo.deleted_at is not None
    # The next page says so, with Undo (a restore), once.
    page = alice_client.get(reverse("gallery:photo", args=[older.pk])).content.decode()
    assert "Moved “beach.jpg” to the trash." in page and reverse("gallery:restore", args=[named_photo.pk]) in page
    assert (
        reverse("gallery:restore", args=[named_photo.pk])
        not in alice_client.get(reverse("gallery:timeline")).content.decode()
    )


def test_a_photo_in_the_trash_is_on_no_page(alice_client, alice, named_photo):
    anna = Person.objects.get(name="Anna")
    services.photo_trash(photo=named_photo)
    assert alice_client.get(reverse("gallery:photo", args=[named_photo.pk])).status_code == 404
    assert alice_client.get(reverse("gallery:preview", args=[named_photo.pk])).status_code == 404
    assert "beach.jpg" not in alice_client.get(reverse("gallery:timeline")).content.decode()
    person_page = alice_client.get(reverse("faces:person", args=[anna.pk])).content.decode()
    assert "0 faces · 0 photos" in person_page
    assert "0 faces" in alice_client.get(reverse("faces:people")).content.decode()


def test_the_trash_page_lists_it_and_restore_brings_back_everything(alice_client, alice, named_photo):
    anna = Person.objects.get(name="Anna")
    services.photo_trash(photo=named_photo)
    page = alice_client.get(reverse("gallery:trash")).content.decode()
    assert "beach.jpg" in page and "Deleted for good on" in page
    assert alice_client.get(reverse("gallery:thumbnail", args=[named_photo.pk])).status_code == 200
    timeline = alice_client.get(reverse("gallery:timeline")).content.decode()
    assert "Trash (1)" in timeline
    response = alice_client.post(reverse("gallery:restore", args=[named_photo.pk]))
    assert response.url == reverse("gallery:photo", args=[named_photo.pk])
    named_photo.refresh_from_db()
    assert named_photo.deleted_at is None
    assert "1 face · 1 photo" in alice_client.get(reverse("faces:person", args=[anna.pk])).content.decode()
    assert all(default_storage.exists(name) for name in stored_names(named_photo))


def test_delete_for_good_and_empty_the_trash_remove_files_and_faces(
    alice_client, alice, named_photo, django_capture_on_commit_callbacks
):
    other = PhotoFactory(owner=alice, stored=True)
    names = stored_names(named_photo) + stored_names(other)
    services.photo_trash(photo=named_photo)
    services.photo_trash(photo=other)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("gallery:purge", args=[named_photo.pk]))
    assert not Photo.objects.filter(pk=named_photo.pk).exists()
    assert not Face.objects.filter(photo_id=named_photo.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("gallery:trash_empty"), follow=True)
    assert "Deleted 1 photo for good." in response.content.decode()
    assert not Photo.objects.filter(owner=alice).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_the_sweeper_empties_what_was_trashed_30_days_ago(alice, named_photo, django_capture_on_commit_callbacks):
    recent = PhotoFactory(owner=alice, stored=True)
    names = stored_names(named_photo)
    services.photo_trash(photo=named_photo)
    services.photo_trash(photo=recent)
    Photo.objects.filter(pk=named_photo.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_trash_purge() == {"purged": 1}
    assert not Photo.objects.filter(pk=named_photo.pk).exists() and Photo.objects.filter(pk=recent.pk).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_uploading_a_photo_in_the_trash_again_restores_it(alice):
    data = images.jpeg_bytes()
    photo, created = services.photo_create(owner=alice, file=SimpleUploadedFile("a.jpg", data), filename="a.jpg")
    services.photo_trash(photo=photo)
    again, created = services.photo_create(owner=alice, file=SimpleUploadedFile("a.jpg", data), filename="a.jpg")
    assert again.pk == photo.pk and not created and again.deleted_at is None
    assert Photo.objects.for_user(alice).filter(pk=photo.pk).exists()


def test_bob_cannot_restore_or_delete_alices_trash(bob_client, alice, named_photo):
    services.photo_trash(photo=named_photo)
    for name in ("gallery:restore", "gallery:purge", "gallery:thumbnail"):
        method = bob_client.get if name == "gallery:thumbnail" else bob_client.post
        assert method(reverse(name, args=[named_photo.pk])).status_code == 404, name
    bob_client.post(reverse("gallery:trash_empty"))
    named_photo.refresh_from_db()
    assert named_photo.deleted_at is not None
    assert "beach.jpg" not in bob_client.get(reverse("gallery:trash")).content.decode()


def test_restore_and_delete_for_good_are_for_photos_in_the_trash_only(alice_client, alice, named_photo):
    assert alice_client.post(reverse("gallery:purge", args=[named_photo.pk])).status_code == 404
    assert alice_client.post(reverse("gallery:restore", args=[named_photo.pk])).status_code == 404
    assert Photo.objects.filter(pk=named_photo.pk, deleted_at=None).exists()
