"""The timeline: newest first, by month, keyset pages, no N+1; the processing panel."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from gallery.models import Photo
from gallery.selectors import StatusCounts, photo_status_counts, photo_timeline
from smartgallery.tests.commits import work_after_commit

URL = reverse("gallery:timeline")
HX = {"HTTP_HX_REQUEST": "true"}


SERIAL = itertools.count()


def bulk_photos(owner, count, *, start=datetime(2024, 3, 31, 12, tzinfo=UTC), step=timedelta(hours=7), **fields):
    photos = []
    for i in range(count):
        n = next(SERIAL)
        values = {
            "original": f"{owner.pk}/originals/{n}.jpg",
            "original_filename": f"p{i}.jpg",
            "image_format": "JPEG",
            "sha256": f"{n:064d}",
            "file_size": 1000,
            "width": 400,
            "height": 300,
            "taken_at": start - i * step,
            "thumbnail": f"{owner.pk}/derivatives/t{n}.jpg",
            "preview": f"{owner.pk}/derivatives/p{n}.jpg",
            "status": "done",
            **fields,
        }
        photos.append(Photo(owner=owner, **values))
    return Photo.objects.bulk_create(photos)


def test_the_empty_timeline_invites_an_upload_or_import(alice_client):
    response = alice_client.get(URL)
    assert response.status_code == 200
    assert b"No photos yet" in response.content and reverse("gallery:upload").encode() in response.content
    assert b"import_photos" in response.content


def test_photos_are_newest_first_and_grouped_by_month(alice_client, alice):
    bulk_photos(alice, 10, step=timedelta(days=10))
    content = alice_client.get(URL).content.decode()
    assert content.index("March 2024") < content.index("February 2024") < content.index("January 2024")
    assert content.index("p0.jpg") < content.index("p9.jpg")


def test_pages_follow_each_other_without_gaps_or_repeats(alice):
    made = bulk_photos(alice, 25, step=timedelta(0))  # equal times: the id breaks ties
    seen, cursor = [], None
    while True:
        page = photo_timeline(user=alice, cursor=cursor, limit=10)
        seen += [p.pk for p in page.photos]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted((p.pk for p in made), reverse=True)


def test_a_month_split_across_pages_gets_one_heading(alice):
    bulk_photos(alice, 20, step=timedelta(hours=1))
    first = photo_timeline(user=alice, limit=10)
    second = photo_timeline(user=alice, cursor=first.next_cursor, limit=10)
    assert second.groups[0].continued


def test_load_more_is_a_plain_link_and_an_htmx_partial(alice_client, alice):
    bulk_photos(alice, 70)
    page = alice_client.get(URL).content.decode()
    assert 'class="button load-more" href="/photos/?after=' in page
    after = page.split('href="/photos/?after=')[1].split('"')[0]
    partial = alice_client.get(URL, {"after": after}, **HX)
    assert partial.status_code == 200 and b"<html" not in partial.content
    assert partial.content.count(b'class="tile"') == 10
    plain = alice_client.get(URL, {"after": after})
    assert b"<html" in plain.content and plain.content.count(b'class="tile"') == 10


def test_a_malformed_cursor_shows_the_first_page(alice_client, alice):
    bulk_photos(alice, 3)
    assert alice_client.get(URL, {"after": "nonsense"}).content.count(b'class="tile"') == 3


def gallery_queries(client, *args, **kwargs) -> tuple[int, int]:
    """(queries on our tables, all queries) of one request as the page computes it (nothing of
    the library kept: smartgallery.library_cache); sessions and auth are not ours to count."""
    from django.contrib.auth import get_user
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from smartgallery import library_cache

    library_cache.new_versions({get_user(client).pk})
    with CaptureQueriesContext(connection) as captured:
        client.get(*args, **kwargs)
    ours = [q for q in captured.captured_queries if "gallery_photo" in q["sql"] or "faces_" in q["sql"]]
    return len(ours), len(captured.captured_queries)


def test_timeline_queries_do_not_grow_with_photos(alice_client, alice, django_assert_max_num_queries):
    bulk_photos(alice, 20)
    bulk_photos(alice, 3, status="failed", start=datetime(2020, 1, 1, tzinfo=UTC), last_error="broken")
    alice_client.get(URL)  # warm the session
    ours_small, total_small = gallery_queries(alice_client, URL)
    bulk_photos(alice, 300, start=datetime(2025, 1, 1, tzinfo=UTC))
    ours, total = gallery_queries(alice_client, URL)
    assert ours <= 3  # the page of photos, the status counts, the failed list
    assert (ours, total) == (ours_small, total_small)
    assert gallery_queries(alice_client, URL, {"after": "1711886400000000_999999"}, **HX)[0] == 1
    with django_assert_max_num_queries(total):
        response = alice_client.get(URL)
    assert response.content.count(b'class="tile"') == 60


def test_placeholders_show_while_processing_and_refresh_themselves(alice_client, alice):
    (photo,) = bulk_photos(alice, 1, status="queued", thumbnail="", preview="")
    content = alice_client.get(URL).content.decode()
    assert "tile-placeholder" in content and 'hx-trigger="photos-processed from:body"' in content
    Photo.objects.filter(pk=photo.pk).update(status="done", thumbnail="x.jpg", preview="y.jpg")
    tile = alice_client.get(reverse("gallery:tile", args=[photo.pk]), **HX).content.decode()
    assert "tile-placeholder" not in tile and reverse("gallery:thumbnail", args=[photo.pk]) in tile


def test_the_processing_panel_polls_while_work_is_pending_then_stops(alice_client, alice):
    bulk_photos(alice, 2, status="queued")
    panel = alice_client.get(reverse("gallery:processing"), {"pending": 2}, **HX)
    assert panel.status_code == 200 and b"every 2s" in panel.content and b"2 queued" in panel.content
    Photo.objects.filter(owner=alice).update(status="done")
    done = alice_client.get(reverse("gallery:processing"), {"pending": 2}, **HX)
    assert done.status_code == 286  # htmx stops polling
    assert b"every 2s" not in done.content
    assert "photos-processed" in done["HX-Trigger"]


def test_status_counts_count_each_kind_once_and_only_the_owners(alice, bob):
    """The counts leave done photos out of the query: every other kind is still counted, a
    trashed photo only as trashed whatever its status, and nothing of another user."""
    trashed_at = datetime(2024, 4, 1, tzinfo=UTC)
    bulk_photos(alice, 4, status="done", faces_status="done")
    bulk_photos(alice, 3, status="queued")
    bulk_photos(alice, 2, status="processing")
    bulk_photos(alice, 5, status="failed")
    bulk_photos(alice, 6, status="done", faces_status="failed")
    bulk_photos(alice, 1, status="done", faces_status="done", deleted_at=trashed_at)
    bulk_photos(alice, 1, status="failed", deleted_at=trashed_at)
    bulk_photos(alice, 1, status="done", faces_status="failed", deleted_at=trashed_at)
    bulk_photos(bob, 7, status="queued")
    bulk_photos(bob, 2, status="done", faces_status="failed", deleted_at=trashed_at)

    counts = photo_status_counts(user=alice)

    assert counts == StatusCounts(queued=3, processing=2, failed=5, faces_failed=6, trashed=3)
    assert (counts.pending, counts.retryable) == (5, 11)
    assert photo_status_counts(user=bob) == StatusCounts(queued=7, trashed=2)


def test_failed_photos_are_listed_with_their_error_and_a_retry_button(alice_client, alice):
    (photo,) = bulk_photos(alice, 1, status="failed", last_error="<b>decoder exploded</b>", attempts=3)
    content = alice_client.get(URL).content.decode()
    assert "&lt;b&gt;decoder exploded&lt;/b&gt;" in content
    assert reverse("gallery:retry", args=[photo.pk]) in content


def test_retry_queues_a_failed_photo_again(alice_client, alice, django_capture_on_commit_callbacks):
    (photo,) = bulk_photos(alice, 1, status="failed", last_error="boom", attempts=3)
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_client.post(reverse("gallery:retry", args=[photo.pk]), **HX)
    assert response.status_code == 200 and b"1 queued" in response.content
    photo.refresh_from_db()
    assert (photo.status, photo.attempts, photo.last_error) == ("queued", 0, "")
    assert len(work_after_commit(callbacks)) == 1


@pytest.mark.parametrize("status", ["done", "queued"])
def test_retry_leaves_photos_that_did_not_fail_alone(alice_client, alice, status, django_capture_on_commit_callbacks):
    (photo,) = bulk_photos(alice, 1, status=status, attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        alice_client.post(reverse("gallery:retry", args=[photo.pk]))
    assert Photo.objects.get(pk=photo.pk).status == status and work_after_commit(callbacks) == []


def test_bob_sees_only_his_photos(bob_client, alice, bob):
    bulk_photos(alice, 3)
    bulk_photos(bob, 2)
    assert bob_client.get(URL).content.count(b'class="tile"') == 2


def test_the_timeline_is_fast_at_ten_thousand_photos(alice_client, alice):
    import time

    for chunk in range(10):
        bulk_photos(alice, 1000, start=datetime(2024, 1, 1, tzinfo=UTC) - timedelta(days=400 * chunk))
    started = time.perf_counter()
    response = alice_client.get(URL)
    assert response.status_code == 200
    assert time.perf_counter() - started < 1.0
