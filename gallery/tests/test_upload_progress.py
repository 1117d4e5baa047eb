"""The upload page's progress panel (issue 14, bug 4): pinned above the list, rows updated as
photos finish, and at the end what to do next."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from faces.models import Face
from gallery.models import Photo
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PhotoFactory

pytestmark = pytest.mark.django_db
URL = reverse("gallery:upload_progress")
HX = {"HTTP_HX_REQUEST": "true"}


def ms(moment) -> str:
    return str(int(moment.timestamp() * 1000))


def test_the_panel_sits_above_the_list_and_waits_for_the_first_upload(alice_client):
    html = alice_client.get(reverse("gallery:upload")).content.decode()
    assert html.index('id="upload-progress"') < html.index('id="upload-results"')
    assert "upload-progress-idle" in html and 'hx-trigger="photos-uploaded from:body"' in html


def test_it_counts_the_photos_uploaded_since_the_page_opened(alice_client, alice):
    since = timezone.now()
    PhotoFactory(owner=alice)  # before the page opened: not counted
    Photo.objects.filter(owner=alice).update(created_at=since - timedelta(minutes=5))
    done = PhotoFactory(owner=alice, finished_at=timezone.now())
    FaceFactory.create_batch(3, owner=alice, photo=done)
    PhotoFactory(owner=alice, status=Photo.Status.QUEUED)
    response = alice_client.get(URL, {"since": ms(since), "after": ms(since)}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "every 2s" in html
    assert "Finding faces: 1 of 2 photos done" in html and "3 faces so far" in html
    # The finished photo's row, for the page to put in place of its "finding faces" row.
    assert f'id="upload-row-{done.pk}"' in html and "Done · 3 faces" in html


def test_rows_come_once_the_photo_finished(alice_client, alice):
    since = timezone.now()
    photo = PhotoFactory(owner=alice, finished_at=since + timedelta(seconds=1))
    later = alice_client.get(URL, {"since": ms(since), "after": ms(since + timedelta(seconds=5))}, **HX)
    assert f'id="upload-row-{photo.pk}"' not in later.content.decode()


def test_a_failed_photo_says_so_in_its_row(alice_client, alice):
    since = timezone.now()
    photo = PhotoFactory(owner=alice, status=Photo.Status.FAILED, finished_at=timezone.now(), last_error="Broken.")
    html = alice_client.get(URL, {"since": ms(since), "after": ms(since)}, **HX).content.decode()
    assert f'id="upload-row-{photo.pk}"' in html and "upload-failed" in html and "Could not process" in html


def test_at_the_end_it_says_what_to_do_next_and_stops(alice_client, alice, settings):
    settings.SMARTGALLERY_FACES_REGROUP_DELAY = 0
    since = timezone.now() - timedelta(minutes=1)
    long_ago = timezone.now() - timedelta(seconds=30)
    photos = [PhotoFactory(owner=alice, finished_at=long_ago) for _ in range(3)]
    group = FaceGroupFactory(owner=alice, faces=0)
    for photo in photos:
        FaceFactory(owner=alice, photo=photo, group=group)
    FaceFactory(owner=alice, photo=photos[0], state=Face.State.AUTO, person=None)
    response = alice_client.get(URL, {"since": ms(since), "after": ms(since)}, **HX)
    html = response.content.decode()
    assert response.status_code == 286 and "every 2s" not in html
    assert "3 photos, 4 faces" in html and "1 new person to name." in html
    assert reverse("faces:people") in html and "Name them" in html


def test_it_waits_for_the_grouping_after_the_last_photo(alice_client, alice, settings):
    settings.SMARTGALLERY_FACES_REGROUP_DELAY = 10
    since = timezone.now() - timedelta(minutes=1)
    PhotoFactory(owner=alice, finished_at=timezone.now())
    response = alice_client.get(URL, {"since": ms(since)}, **HX)
    assert response.status_code == 200 and "Grouping similar faces" in response.content.decode()


def test_bob_sees_nothing_of_alices_uploads(bob_client, alice):
    since = timezone.now() - timedelta(minutes=1)
    photo = PhotoFactory(owner=alice, finished_at=timezone.now())
    html = bob_client.get(URL, {"since": ms(since), "after": ms(since)}, **HX).content.decode()
    assert "upload-progress-idle" in html and f"upload-row-{photo.pk}" not in html


def test_bad_timestamps_are_no_error(alice_client):
    assert alice_client.get(URL, {"since": "x", "after": "99999999999999999999"}).status_code == 200
