"""The photo page: face boxes over the preview, previous/next, download, delete."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from faces.models import Face, Person, RecognitionIndex
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import PhotoFactory, upload_photo


def done_photo(owner, taken_at=None):
    photo = upload_photo(owner, images.jpeg_bytes(400, 200, color=(len(Photo.objects.all()) * 9 % 256, 1, 1)))
    photo.preview.name = photo.thumbnail.name = photo.original.name
    photo.status = "done"
    if taken_at:
        photo.taken_at = taken_at
    photo.save()
    return photo


def test_faces_are_drawn_in_percent_of_the_image_with_their_kind(alice_client, alice):
    photo = done_photo(alice)
    ann = Person.objects.create(owner=alice, name="Ann <script>")
    Face.objects.create(owner=alice, photo=photo, x1=100, y1=50, x2=200, y2=150, det_score=0.9, size_px=100)
    Face.objects.create(
        owner=alice, photo=photo, x1=0, y1=0, x2=40, y2=40, det_score=0.9, size_px=40, person=ann, state="confirmed"
    )
    Face.objects.create(
        owner=alice, photo=photo, x1=300, y1=0, x2=340, y2=40, det_score=0.9, size_px=40, person=ann, state="suggested"
    )
    Face.objects.create(
        owner=alice, photo=photo, x1=350, y1=0, x2=390, y2=40, det_score=0.9, size_px=40, state="rejected_as_face"
    )
    content = alice_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert content.count('class="face-box') == 3
    assert 'data-box="25.0 25.0 25.0 50.0"' in content  # percent of the image; photo.js places it
    assert "face-unknown" in content and "face-named" in content and "face-suggested" in content
    assert 'title="Ann &lt;script&gt;"' in content and "Is this Ann &lt;script&gt;?" in content
    assert "<script>" not in content.split("</header>")[1].split("<footer")[0]


def test_previous_and_next_follow_the_timeline(alice_client, alice):
    base = datetime(2024, 5, 1, tzinfo=UTC)
    old, middle, new = (done_photo(alice, base + timedelta(days=i)) for i in range(3))
    content = alice_client.get(reverse("gallery:photo", args=[middle.pk])).content.decode()
    assert f'rel="prev" href="{reverse("gallery:photo", args=[new.pk])}"' in content
    assert f'rel="next" href="{reverse("gallery:photo", args=[old.pk])}"' in content


def test_neighbours_never_cross_to_another_user(alice_client, alice, bob):
    mine = done_photo(alice)
    done_photo(bob)
    content = alice_client.get(reverse("gallery:photo", args=[mine.pk])).content.decode()
    assert 'rel="prev"' not in content and 'rel="next"' not in content


def test_download_gives_the_original_bytes_as_an_attachment(alice_client, alice):
    data = images.jpeg_bytes(50, 50)
    photo = upload_photo(alice, data, "Été à Paris.png")
    response = alice_client.get(reverse("gallery:original", args=[photo.pk]))
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/jpeg"  # what the bytes are, not what the name said
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%C3%89t%C3%A9%20%C3%A0%20Paris.jpg"
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]


def test_media_can_be_handed_to_nginx(alice_client, alice, settings):
    settings.SMARTGALLERY_X_ACCEL_REDIRECT = True
    photo = done_photo(alice)
    response = alice_client.get(reverse("gallery:thumbnail", args=[photo.pk]))
    assert response["X-Accel-Redirect"] == f"/protected-media/{photo.thumbnail.name}"
    assert response["Content-Type"] == "image/jpeg" and response.content == b""


def test_media_not_made_yet_is_404(alice_client, alice):
    photo = upload_photo(alice)
    assert alice_client.get(reverse("gallery:preview", args=[photo.pk])).status_code == 404


def test_delete_removes_the_photo_its_faces_and_after_commit_its_files(
    alice_client, alice, django_capture_on_commit_callbacks
):
    photo = upload_photo(alice, images.jpeg_bytes(80, 80))
    face = Face.objects.create(
        owner=alice,
        photo=photo,
        x1=1,
        y1=1,
        x2=9,
        y2=9,
        det_score=0.9,
        size_px=8,
        crop=default_storage.save(f"{alice.pk}/faces/x.jpg", open(default_storage.path(photo.original.name), "rb")),
    )
    files = [photo.original.name, face.crop.name]
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("gallery:delete", args=[photo.pk]))
    # Into the trash first (gallery/tests/test_trash.py): nothing is gone yet.
    assert response.status_code == 302 and response["Location"] == reverse("gallery:timeline")
    assert Face.objects.filter(pk=face.pk).exists() and all(default_storage.exists(name) for name in files)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("gallery:purge", args=[photo.pk]))
    assert not Photo.objects.filter(pk=photo.pk).exists() and not Face.objects.filter(pk=face.pk).exists()
    assert not any(default_storage.exists(name) for name in files)


def test_deleting_a_photo_with_a_named_face_marks_the_recognition_index_stale(alice_client, alice):
    photo = upload_photo(alice)
    ann = Person.objects.create(owner=alice, name="Ann")
    Face.objects.create(
        owner=alice, photo=photo, x1=1, y1=1, x2=9, y2=9, det_score=0.9, size_px=8, person=ann, state="confirmed"
    )
    alice_client.post(reverse("gallery:delete", args=[photo.pk]))
    alice_client.post(reverse("gallery:purge", args=[photo.pk]))  # for good, out of the trash
    index = RecognitionIndex.objects.get(owner=alice)
    assert index.labels_version > index.built_version


def test_deleting_a_photo_without_named_faces_leaves_the_index_alone(alice_client, alice):
    photo = upload_photo(alice)
    Face.objects.create(owner=alice, photo=photo, x1=1, y1=1, x2=9, y2=9, det_score=0.9, size_px=8)
    alice_client.post(reverse("gallery:delete", args=[photo.pk]))
    assert not RecognitionIndex.objects.filter(owner=alice, labels_version__gt=0).exists()


def test_delete_over_htmx_redirects_the_client(alice_client, alice):
    photo = upload_photo(alice)
    response = alice_client.post(reverse("gallery:delete", args=[photo.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("gallery:timeline")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "shown"),
    [((250, 250), (500, 500)), ((500, 300), (800, 480)), ((640, 480), (800, 600)), ((1600, 1200), (1600, 1200))],
)
def test_a_small_photo_is_shown_larger_but_never_more_than_twice_its_size(alice_client, alice, size, shown):
    photo = PhotoFactory(owner=alice, width=size[0], height=size[1], preview="1/derivatives/p.jpg")
    html = alice_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert f'width="{shown[0]}" height="{shown[1]}"' in html
