"""The viewer's pages of a shared library and the owner's revoke: what is shown, what is not,
what it costs in queries, and that a revoke closes everything at the next request."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from faces.models import Face
from gallery.models import Photo
from sharing.models import Share
from sharing.tests.conftest import hx
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory
from smartgallery.tests.world import XSS, XSS_ESCAPED, make_world

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode(errors="replace")


def test_the_viewer_sees_the_processed_photos_and_the_named_people(alice_world, share, carol_client):
    w = alice_world
    timeline = body(carol_client.get(reverse("sharing:library", args=[share.id])))
    for photo in (w.photo, w.photo2):
        assert reverse("sharing:thumbnail", args=[share.id, photo.id]) in timeline
    # Not the failed photo (never processed), not the one in the trash.
    for photo in (w.failed_photo, w.trashed_photo):
        assert photo.original_filename not in timeline
        assert carol_client.get(reverse("sharing:photo", args=[share.id, photo.id])).status_code == 404
        assert carol_client.get(reverse("sharing:original", args=[share.id, photo.id])).status_code == 404
    people = body(carol_client.get(reverse("sharing:people", args=[share.id])))
    assert w.person.name in people and w.other_person.name in people
    assert reverse("sharing:face_crop", args=[share.id, w.person.cover_face_id]) in people
    photo_page = body(carol_client.get(reverse("sharing:photo", args=[share.id, w.photo.id])))
    assert w.person.name in photo_page  # the confirmed face, named
    assert "Is this" not in photo_page  # not the suggested one
    assert reverse("sharing:original", args=[share.id, w.photo.id]) in photo_page
    assert reverse("sharing:person", args=[share.id, w.person.id]) in photo_page


def test_suggested_unknown_and_rejected_faces_are_not_shown(alice_world, share, carol_client):
    w = alice_world
    for face in (w.face, w.spare_face, *w.group_faces):
        assert carol_client.get(reverse("sharing:face_crop", args=[share.id, face.id])).status_code == 404
    assert carol_client.get(reverse("sharing:face_crop", args=[share.id, w.confirmed_face.id])).status_code == 200


def test_hidden_and_deleted_people_are_not_shown(alice_world, share, carol_client):
    w = alice_world
    w.other_person.hidden = True
    w.other_person.save()
    people = body(carol_client.get(reverse("sharing:people", args=[share.id])))
    assert w.other_person.name not in people and w.person.name in people
    assert carol_client.get(reverse("sharing:person", args=[share.id, w.other_person.id])).status_code == 404
    photo2 = body(carol_client.get(reverse("sharing:photo", args=[share.id, w.photo2.id])))
    assert w.other_person.name not in photo2
    filtered = carol_client.get(reverse("sharing:photo_filter", args=[share.id]), {"person": w.other_person.id})
    assert filtered.status_code == 404
    w.person.deleted_at = timezone.now()
    w.person.save()
    assert carol_client.get(reverse("sharing:person", args=[share.id, w.person.id])).status_code == 404


def test_the_person_page_and_the_people_filter_list_their_photos(alice_world, share, carol_client):
    w = alice_world
    person = body(carol_client.get(reverse("sharing:person", args=[share.id, w.other_person.id])))
    # other_person is confirmed on photo2 and only suggested on photo.
    assert reverse("sharing:photo", args=[share.id, w.photo2.id]) in person
    assert reverse("sharing:photo", args=[share.id, w.photo.id]) not in person
    url = reverse("sharing:photo_filter", args=[share.id])
    both = body(carol_client.get(url, {"person": [w.person.id, w.other_person.id], "mode": "or"}))
    assert "2 photos" in both
    none = body(carol_client.get(url, {"person": [w.person.id, w.other_person.id], "mode": "and"}))
    assert "No photo matches." in none


def test_pages_load_more_with_htmx(alice, share, carol_client):
    person = PersonFactory(owner=alice, name="Anna", faces=0)
    for _ in range(61):
        # Processed photos (a shared library shows no other): their derivatives are named.
        photo = PhotoFactory(owner=alice, thumbnail="t.jpg", preview="p.jpg")
        FaceFactory(owner=alice, person=person, photo=photo, state=Face.State.CONFIRMED)
    first = body(carol_client.get(reverse("sharing:library", args=[share.id])))
    assert first.count('class="tile"') == 60 and "Load more photos" in first
    # The grid is the owner's timeline grid (gallery/_timeline.html): its links stay in the share.
    library = reverse("sharing:library", args=[share.id])
    assert f'href="{library}?after=' in first and not re.search(r'href="/photos/\d', first)
    cursor = first.split("?after=")[1].split('"')[0]
    more = carol_client.get(reverse("sharing:library", args=[share.id]), {"after": cursor}, **hx())
    assert body(more).count('class="tile"') == 1 and "<html" not in body(more)
    person_url = reverse("sharing:person", args=[share.id, person.id])
    page = body(carol_client.get(person_url))
    cursor = page.split("?after=")[1].split('"')[0]
    more = body(carol_client.get(person_url, {"after": cursor}, **hx()))
    assert more.count('class="photo-tile"') == 1 and "<html" not in more


# Find a person (the owner's name search, on the shared pages) ---------------------------------


def _names(html: str) -> set[str]:
    return set(re.findall(r'class="person-name">([^<]*)<', html))


def _picks(html: str) -> set[str]:
    return set(re.findall(r'<label for="id_person_\d+">([^<]*)</label>', html))


def test_find_a_person_narrows_the_shared_people_ignoring_case_and_accents(alice, share, carol_client):
    for name in ("Zoë Ørsted", "Anna Schmidt", "Joanna", "Ben"):
        PersonFactory(owner=alice, name=name, faces=0)
    PersonFactory(owner=alice, name="Annika Hidden", faces=0, hidden=True)
    url = reverse("sharing:people", args=[share.id])
    html = body(carol_client.get(url, {"q": "ANNA"}))
    assert _names(html) == {"Anna Schmidt", "Joanna"}
    assert 'id="people-q" type="search" name="q" value="ANNA"' in html and 'role="search"' in html
    assert f'method="get" action="{url}"' in html and f'hx-get="{url}"' in html
    assert _names(body(carol_client.get(url, {"q": "zoe orsted"}))) == {"Zoë Ørsted"}
    assert _names(body(carol_client.get(url, {"q": "ann"}))) == {"Anna Schmidt", "Joanna"}  # never a hidden one
    nobody = body(carol_client.get(url, {"q": "xyz"}))
    assert _names(nobody) == set() and "No name contains “xyz”" in nobody and "No people named yet" not in nobody


def test_find_a_person_as_you_type_answers_with_the_shared_list_only(alice, share, carol_client):
    for name in ("Anna", "Ben"):
        PersonFactory(owner=alice, name=name, faces=0)
    response = carol_client.get(
        reverse("sharing:people", args=[share.id]), {"q": "an"}, **hx(HTTP_HX_TARGET="people-list")
    )
    html = body(response)
    assert html.lstrip().startswith('<section id="people-list"') and "<html" not in html
    assert _names(html) == {"Anna"} and 'id="people-search"' not in html


def test_find_a_person_narrows_the_shared_picks_and_keeps_the_picked(alice, share, carol_client):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    ben = PersonFactory(owner=alice, name="Ben", faces=0)
    PersonFactory(owner=alice, name="Chloé", faces=0)
    url = reverse("sharing:photo_filter", args=[share.id])
    html = body(carol_client.get(url, {"q": "CHLOE"}))
    assert _picks(html) == {"Chloé"}
    assert 'id="filter-q" type="search" name="q" value="CHLOE"' in html and f'hx-get="{url}"' in html
    response = carol_client.get(url, {"q": "ann", "person": [ben.id]}, **hx(HTTP_HX_TARGET="person-picks"))
    html = body(response)
    assert html.lstrip().startswith('<div id="person-picks"') and "<html" not in html
    assert _picks(html) == {"Anna", "Ben"} and f'value="{ben.id}" id="id_person_1" checked' in html
    assert "No name contains “zzz”" in body(carol_client.get(url, {"q": "zzz"}))
    assert _picks(body(carol_client.get(url, {"person": [anna.id]}))) == {"Anna", "Ben", "Chloé"}


def test_find_a_person_in_a_shared_library_shows_only_that_librarys_people(alice, bob, carol, share, carol_client):
    PersonFactory(owner=alice, name="Anna", faces=0)
    PersonFactory(owner=carol, name="Anna of Carol", faces=0)
    PersonFactory(owner=bob, name="Anna of Bob", faces=0)
    Share.objects.create(owner=bob, email=carol.email, viewer=carol)  # bob shares with carol too
    people = reverse("sharing:people", args=[share.id])
    picks = reverse("sharing:photo_filter", args=[share.id])
    for response in (
        carol_client.get(people, {"q": "anna"}),
        carol_client.get(people, {"q": "anna"}, **hx(HTTP_HX_TARGET="people-list")),
    ):
        assert _names(body(response)) == {"Anna"}
    for response in (
        carol_client.get(picks, {"q": "anna"}),
        carol_client.get(picks, {"q": "anna"}, **hx(HTTP_HX_TARGET="person-picks")),
    ):
        assert _picks(body(response)) == {"Anna"}


# The switcher and the navigation -------------------------------------------------------------


def test_the_switcher_lists_the_libraries_shared_with_the_user(alice_world, share, carol_client, alice_client):
    own = body(carol_client.get(reverse("gallery:timeline")))
    assert 'class="library-switcher"' in own and "Alice’s library" in own
    assert reverse("sharing:library", args=[share.id]) in own
    shared = body(carol_client.get(reverse("sharing:library", args=[share.id])))
    assert "<strong>Alice</strong> shares this library with you" in shared
    # In the shared library, the navigation offers its photos and people, nothing to upload or review.
    nav = shared.split('aria-label="Main"')[1].split("</nav>")[0]
    assert reverse("sharing:people", args=[share.id]) in nav
    assert reverse("gallery:upload") not in nav and reverse("faces:review") not in nav
    # Nobody shares with alice: no switcher for her.
    assert 'class="library-switcher"' not in body(alice_client.get(reverse("gallery:timeline")))


def test_revoked_libraries_leave_the_switcher(alice, share, carol_client):
    from sharing.services import share_revoke

    share_revoke(owner=alice, share_id=share.id)
    assert 'class="library-switcher"' not in body(carol_client.get(reverse("gallery:timeline")))


# Revoking ------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_owner_revokes_and_the_next_request_is_refused(htmx, alice, alice_world, share, alice_client, carol_client):
    photo_url = reverse("sharing:photo", args=[share.id, alice_world.photo.id])
    thumbnail = reverse("sharing:thumbnail", args=[share.id, alice_world.photo.id])
    assert carol_client.get(photo_url).status_code == 200
    assert carol_client.get(thumbnail).status_code == 200
    listing = body(alice_client.get(reverse("sharing:settings")))
    assert "carol@example.com" in listing and reverse("sharing:revoke", args=[share.id]) in listing
    response = alice_client.post(reverse("sharing:revoke", args=[share.id]), **(hx() if htmx else {}))
    if htmx:
        assert response.status_code == 200 and "<html" not in body(response)
        text = body(response)
    else:
        assert response.status_code == 302
        text = body(alice_client.get(response["Location"]))
    assert "carol@example.com can no longer see your library." in text
    assert reverse("sharing:revoke", args=[share.id]) not in text
    assert carol_client.get(photo_url).status_code == 404
    assert carol_client.get(thumbnail).status_code == 404
    share.refresh_from_db()
    assert share.revoked_at is not None and share.live is None
    # Revoking again changes nothing and is no error.
    assert alice_client.post(reverse("sharing:revoke", args=[share.id])).status_code == 302


def test_a_deactivated_owner_shares_nothing(alice, alice_world, share, carol_client):
    alice.is_active = False
    alice.save()
    assert carol_client.get(reverse("sharing:library", args=[share.id])).status_code == 404


def test_deleting_either_account_removes_the_share(alice, carol, share):
    from accounts.services import user_delete

    user_delete(user=carol)
    assert not Share.objects.exists()
    Share.objects.create(owner=alice, email="dora@example.com")
    user_delete(user=alice)
    assert not Share.objects.exists()


# Escaping ------------------------------------------------------------------------------------


@pytest.mark.catalogue("A13")
def test_names_are_escaped_on_the_shared_pages(alice, carol, carol_client):
    alice.display_name = XSS
    alice.save()
    world = make_world(alice, label="Alice", person_name=XSS, filename=XSS)
    share = Share.objects.create(owner=alice, email=carol.email, viewer=carol)
    pages = [
        reverse("sharing:library", args=[share.id]),
        reverse("sharing:photo", args=[share.id, world.photo.id]),
        reverse("sharing:people", args=[share.id]),
        reverse("sharing:person", args=[share.id, world.person.id]),
        reverse("sharing:photo_filter", args=[share.id]) + f"?person={world.person.id}",
        reverse("gallery:timeline"),  # the switcher
    ]
    for url in pages:
        text = body(carol_client.get(url))
        assert XSS not in text, url
        assert XSS_ESCAPED in text, url


# Queries per page ------------------------------------------------------------------------------
# The test client's request overhead is 2 queries (session, user). Each page then costs: the live
# share (1, which also names the library), its own reads, and the switcher (1, full pages only).
# Every read of the library carries the live-share check inside it as a subquery: no extra
# round trip. Media: 1 query (the object, with the check inside).

OVERHEAD = 2
PAGE_QUERIES = {
    "library": 3,  # share, one page of photos (keyset), switcher
    "library-grid": 2,  # htmx "Load more": share, page
    "photo": 6,  # share, photo, newer, older, named faces, switcher
    "people": 5,  # share, people, photo counts (one aggregate), the page's covers, switcher
    "people-more": 4,  # htmx "Show more people": share, people, photo counts, the page's covers
    "person": 4,  # share, person, one page of their photos, switcher
    "photo_filter": 5,  # share, names for the form, the ids checked, one page, switcher
    "thumbnail": 1,
    "preview": 1,
    "original": 1,
    "face_crop": 1,
}


def _count(client, url: str, **headers) -> int:
    body(client.get(url, **headers))  # warm-up: the first request of a session does more
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
        body(response)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def _shared_urls(share, world) -> dict[str, tuple[str, dict]]:
    s = share.id
    return {
        "library": (reverse("sharing:library", args=[s]), {}),
        "library-grid": (reverse("sharing:library", args=[s]) + "?after=9999999999999999_1", hx()),
        "photo": (reverse("sharing:photo", args=[s, world.photo.id]), {}),
        "people": (reverse("sharing:people", args=[s]), {}),
        "people-more": (reverse("sharing:people", args=[s]) + "?offset=1", hx(HTTP_HX_TARGET="people-more")),
        "person": (reverse("sharing:person", args=[s, world.person.id]), {}),
        "photo_filter": (
            reverse("sharing:photo_filter", args=[s]) + f"?person={world.person.id}&person={world.other_person.id}",
            {},
        ),
        "thumbnail": (reverse("sharing:thumbnail", args=[s, world.photo.id]), {}),
        "preview": (reverse("sharing:preview", args=[s, world.photo.id]), {}),
        "original": (reverse("sharing:original", args=[s, world.photo.id]), {}),
        "face_crop": (reverse("sharing:face_crop", args=[s, world.confirmed_face.id]), {}),
    }


def test_queries_per_shared_page_are_few_and_do_not_grow(alice, alice_world, share, carol_client):
    urls = _shared_urls(share, alice_world)
    small = {name: _count(carol_client, url, **headers) for name, (url, headers) in urls.items()}
    assert small == {name: OVERHEAD + n for name, n in PAGE_QUERIES.items()}
    # Ten times the people and photos: the same number of queries.
    for n in range(10):
        person = PersonFactory(owner=alice, name=f"Person {n}", faces=0)
        for _ in range(3):
            photo = PhotoFactory(owner=alice)
            face = FaceFactory(owner=alice, person=person, photo=photo, state=Face.State.CONFIRMED, crop=True)
            FaceFactory(owner=alice, person=alice_world.person, photo=photo, state=Face.State.CONFIRMED)
        person.cover_face = face
        person.save()
    assert Photo.objects.filter(owner=alice).count() > 30
    large = {name: _count(carol_client, url, **headers) for name, (url, headers) in urls.items()}
    assert large == small


def test_find_a_person_costs_no_query_more_on_the_shared_pages(alice, alice_world, share, carol_client):
    people = reverse("sharing:people", args=[share.id])
    picks = reverse("sharing:photo_filter", args=[share.id])
    assert _count(carol_client, people + "?q=only") == OVERHEAD + PAGE_QUERIES["people"]
    # As you type: the share, the people, their counts and covers (no switcher); the share and the names.
    assert _count(carol_client, people + "?q=only", **hx(HTTP_HX_TARGET="people-list")) == OVERHEAD + 4
    assert _count(carol_client, picks + "?q=only", **hx(HTTP_HX_TARGET="person-picks")) == OVERHEAD + 2
