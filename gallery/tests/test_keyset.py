"""One keyset pagination for every photo list (timeline, a person's photos, photos by people)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from faces import selectors as faces_selectors
from gallery.models import Photo
from gallery.selectors import decode_cursor, keyset_page
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.django_db


def test_pages_chain_through_encoded_cursors_without_gaps_or_repeats(alice):
    start = timezone.now()
    made = [PhotoFactory(owner=alice, taken_at=start - timedelta(minutes=i // 2)) for i in range(7)]  # ties: id decides
    seen, cursor = [], None
    while True:
        page = keyset_page(Photo.objects.for_user(alice), cursor=cursor, limit=3)
        seen += [p.pk for p in page.photos]
        if page.next_cursor is None:
            break
        assert isinstance(page.next_cursor, str) and decode_cursor(page.next_cursor) is not None
        cursor = page.next_cursor
    expected = [p.pk for p in sorted(made, key=lambda p: (p.taken_at, p.pk), reverse=True)]
    assert seen == expected


def test_the_last_page_has_no_cursor_and_a_bad_cursor_starts_at_the_top(alice):
    for _ in range(3):
        PhotoFactory(owner=alice)
    assert keyset_page(Photo.objects.for_user(alice), cursor=None, limit=3).next_cursor is None
    assert len(keyset_page(Photo.objects.for_user(alice), cursor="nonsense", limit=3).photos) == 3


def test_the_faces_pages_get_encoded_cursors_too(alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    for _ in range(4):
        FaceFactory(owner=alice, person=anna)
    page = faces_selectors.person_photos(user=alice, person_id=anna.id, limit=3)
    assert isinstance(page.next_cursor, str) and len(page.tiles) == 3
    rest = faces_selectors.person_photos(user=alice, person_id=anna.id, cursor=page.next_cursor, limit=3)
    assert len(rest.tiles) == 1 and rest.next_cursor is None
    filtered = faces_selectors.persons_for_photo_filter(user=alice, person_ids=[anna.id], limit=3)
    assert isinstance(filtered.next_cursor, str) and len(filtered.photos) == 3
