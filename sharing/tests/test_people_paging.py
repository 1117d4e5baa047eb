"""The People page of a shared library draws the people shown a page at a time, as the owner's
People page does: "Show more people" swaps itself for the next page's rows (htmx) or opens that
page (a plain link), the search included, in the same order as before (most photos first), at
the same few queries whatever the library's size (issue 16)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import timezone

from faces.tests.viewdata import count_queries
from gallery.models import Photo
from sharing import views
from sharing.models import Share
from sharing.tests.conftest import hx
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory
from smartgallery.tests.world import XSS

pytestmark = pytest.mark.django_db

MORE = hx(HTTP_HX_TARGET="people-more")


@pytest.fixture
def page_of_3(monkeypatch):
    monkeypatch.setattr(views, "PEOPLE_PAGE_SIZE", 3)


def _url(share) -> str:
    return reverse("sharing:people", args=[share.id])


def _names(html: str) -> list[str]:
    return re.findall(r'class="person-name">([^<]*)<', html)


def _covers(html: str) -> list[str]:
    return re.findall(r'src="(/shared/\d+/faces/\d+/crop\.jpg)"', html)


def _more_url(html: str) -> str | None:
    found = re.search(
        r'<li class="person-more" id="people-more"><a class="button" href="([^"]+)" hx-get="([^"]+)"', html
    )
    if not found:
        return None
    assert found.group(1) == found.group(2)  # the same page with or without JavaScript
    return htmllib.unescape(found.group(1))


def _all_pages(client, url: str) -> tuple[list[str], int]:
    html = client.get(url).content.decode()
    names, pages = _names(html), 1
    while (url := _more_url(html)) is not None:
        response = client.get(url, **MORE)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html and 'id="people-list"' not in html  # only the next rows
        assert html.lstrip().startswith('<li class="person-card">')
        names += _names(html)
        pages += 1
    return names, pages


def _library(owner) -> dict:
    """8 persons; photo counts with ties (the name, then the id, decides within a count)."""
    counts = {"Zoe": 3, "adam": 1, "Bea": 3, "Carl": 2, "dora": 2, "Eve": 0, "Finn": 5, "Gus": 2}
    return {name: PersonFactory(owner=owner, name=name, faces=k, faces__crop=True) for name, k in counts.items()}


BY_PHOTOS = ["Finn", "Bea", "Zoe", "Carl", "dora", "Gus", "adam", "Eve"]


def test_show_more_people_pages_through_everyone_most_photos_first_once(page_of_3, alice, share, carol_client):
    _library(alice)
    names, pages = _all_pages(carol_client, _url(share))
    assert names == BY_PHOTOS
    assert pages == 3


def test_equal_counts_are_broken_by_name_then_id_the_same_on_every_page(page_of_3, alice, share, carol_client):
    twins = [PersonFactory(owner=alice, name="Twin", faces=1) for _ in range(5)]
    others = [PersonFactory(owner=alice, name=name, faces=1) for name in ("Uma", "abe")]
    html = carol_client.get(_url(share)).content.decode()
    ids = re.findall(rf'href="/shared/{share.id}/people/(\d+)/"', html)
    while (url := _more_url(html)) is not None:
        html = carol_client.get(url, **MORE).content.decode()
        ids += re.findall(rf'href="/shared/{share.id}/people/(\d+)/"', html)
    assert [int(pk) for pk in ids] == [others[1].id, *(t.id for t in twins), others[0].id]


def test_the_first_page_draws_a_page_of_people_and_a_link_to_the_next(page_of_3, alice, share, carol_client):
    people = _library(alice)
    html = carol_client.get(_url(share)).content.decode()
    assert _names(html) == BY_PHOTOS[:3]
    assert _more_url(html) == f"{_url(share)}?offset=3" and "Show more people" in html
    # Only the page's covers are drawn.
    expected = [reverse("sharing:face_crop", args=[share.id, people[n].cover_face_id]) for n in BY_PHOTOS[:3]]
    assert _covers(html) == expected
    rows = carol_client.get(_more_url(html), **MORE).content.decode()
    assert _covers(rows) == [
        reverse("sharing:face_crop", args=[share.id, people[n].cover_face_id]) for n in BY_PHOTOS[3:6]
    ]


def test_without_javascript_the_link_opens_the_next_page_saying_where_it_is(page_of_3, alice, share, carol_client):
    _library(alice)
    html = carol_client.get(_url(share), {"offset": "3"}).content.decode()
    assert "<html" in html and _names(html) == BY_PHOTOS[3:6]
    assert "People 4–6 of 8." in html and f'<a href="{_url(share)}">Back to the first</a>' in html
    assert 'id="people-search"' in html
    html = carol_client.get(_url(share), {"offset": "6"}).content.decode()
    assert _names(html) == BY_PHOTOS[6:] and _more_url(html) is None
    html = carol_client.get(_url(share), {"offset": "30"}).content.decode()
    assert _names(html) == [] and "No more people." in html and "No people named yet" not in html


@pytest.mark.parametrize("offset", ["-3", "x", "", "1e3", "3.5", "0x10", "9" * 5000])
def test_a_bad_offset_is_the_first_page(page_of_3, offset, alice, share, carol_client):
    _library(alice)
    response = carol_client.get(_url(share), {"offset": offset})
    assert response.status_code == 200
    assert _names(response.content.decode()) == BY_PHOTOS[:3]


def test_an_offset_past_the_end_is_an_empty_last_page(page_of_3, alice, share, carol_client):
    _library(alice)
    huge = "9" * 40
    page = carol_client.get(_url(share), {"offset": huge})
    assert page.status_code == 200 and "No more people." in page.content.decode()
    rows = carol_client.get(_url(share), {"offset": huge}, **MORE)
    assert rows.status_code == 200 and _names(rows.content.decode()) == [] and _more_url(rows.content.decode()) is None


def test_a_search_pages_too_and_keeps_its_query(page_of_3, alice, share, carol_client):
    for name in ("Ann 1", "Änn 2", "Bob", "ann 3", "Joanne", "Anna 5", "Zed"):
        PersonFactory(owner=alice, name=name, faces=1)
    PersonFactory(owner=alice, name="Annika Hidden", faces=9, hidden=True)
    html = carol_client.get(_url(share), {"q": "ann"}).content.decode()
    assert _more_url(html) == f"{_url(share)}?q=ann&offset=3"
    names, pages = _all_pages(carol_client, f"{_url(share)}?q=ann")
    assert names == ["Ann 1", "Änn 2", "ann 3", "Anna 5", "Joanne"]
    assert pages == 2
    html = carol_client.get(_url(share), {"q": "ann", "offset": "3"}).content.decode()
    assert "People 4–5 of 5." in html and f'<a href="{_url(share)}?q=ann">Back to the first</a>' in html


def test_as_you_type_the_list_starts_again_from_the_first_page(page_of_3, alice, share, carol_client):
    _library(alice)
    html = carol_client.get(_url(share), {"q": "a"}, **hx(HTTP_HX_TARGET="people-list")).content.decode()
    assert html.lstrip().startswith('<section id="people-list"') and "<html" not in html
    assert _names(html) == ["Bea", "Carl", "dora"] and _more_url(html) == f"{_url(share)}?q=a&offset=3"


def test_no_page_shows_what_the_share_does_not(page_of_3, alice, bob, carol, share, carol_client):
    """Hidden and deleted people on no page; a photo in the trash or not processed neither counts
    nor covers."""
    people = _library(alice)
    PersonFactory(owner=alice, name="Hidden", faces=9, hidden=True)
    PersonFactory(owner=alice, name="Deleted", faces=9, deleted_at=timezone.now())
    binned = PersonFactory(owner=alice, name="Binned", faces=0)
    trashed = PhotoFactory(owner=alice, deleted_at=timezone.now())
    unprocessed = PhotoFactory(owner=alice, status=Photo.Status.QUEUED)
    for photo in (trashed, unprocessed, PhotoFactory(owner=alice, status=Photo.Status.FAILED)):
        binned.cover_face = FaceFactory(owner=alice, person=binned, photo=photo, crop=True)
    binned.save(update_fields=["cover_face"])
    for photo in (trashed, unprocessed, PhotoFactory(owner=alice, deleted_at=timezone.now())):
        FaceFactory(owner=alice, person=people["adam"], photo=photo)  # still 1 photo shown
    PersonFactory(owner=bob, name="Bobs", faces=9)
    Share.objects.create(owner=bob, email=carol.email, viewer=carol)  # another library of carol's
    names, _ = _all_pages(carol_client, _url(share))
    assert names == [*BY_PHOTOS[:7], "Binned", "Eve"]  # no photo shown: last, by name
    html = carol_client.get(_url(share), {"offset": "6"}).content.decode()
    assert "People 7–9 of 9." in html and "0 photos" in html
    assert reverse("sharing:face_crop", args=[share.id, binned.cover_face_id]) not in html


def test_the_next_page_costs_the_same_few_queries_whatever_the_library_size(
    page_of_3, alice, bob, carol, share, carol_client
):
    """bob shares 5 people with carol, alice 50: every page of the list costs the same queries
    (the share, the people, their photo counts, the page's covers; the switcher on a full page)."""
    bobs = Share.objects.create(owner=bob, email=carol.email, viewer=carol)
    for owner, n in ((bob, 5), (alice, 50)):
        for k in range(n):
            PersonFactory(owner=owner, name=f"P{k}", faces=2, faces__crop=True)
    for params, headers, expected in (
        ("", {}, 5),
        ("?offset=3", {}, 5),
        ("?offset=3", MORE, 4),
        ("?q=p&offset=3", MORE, 4),
        ("?q=p", hx(HTTP_HX_TARGET="people-list"), 4),
    ):
        small = count_queries(carol_client, _url(bobs) + params, **headers)
        big = count_queries(carol_client, _url(share) + params, **headers)
        assert small == big == 2 + expected, (params, small, big)
    assert len(_covers(carol_client.get(_url(share)).content.decode())) == 3


# A card of the shared People page as the template drew it before {% shared_person_card %}
# (main at f01d3e5: sharing/people.html#person-rows, with sharing/_face_thumb.html included).
OLD_CARD = (
    '<li class="person-card">\n    <a class="person-card-link" href="{% url \'sharing:person\' shared_library.id '
    'person.id %}">\n      {% with face=person.cover alt=person.name %}{% if face %}<img class="face-thumb{% if big'
    ' %} face-thumb-big{% endif %}" src="{% url \'sharing:face_crop\' shared_library.id face.id %}" alt="{{ alt }}'
    '" width="{% if big %}240{% else %}112{% endif %}" height="{% if big %}240{% else %}112{% endif %}" loading="lazy">'
    '{% else %}<span class="face-thumb face-placeholder{% if big %} face-thumb-big{% endif %}" role="img" aria-label="'
    '{{ alt }}"><span aria-hidden="true">?</span></span>{% endif %}{% endwith %}\n      <span class="person-name">'
    '{{ person.name }}</span>\n    </a>\n    <span class="muted person-counts">{{ person.photo_count }} photo{{ '
    "person.photo_count|pluralize }}</span>\n  </li>"
)


def _tight(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("photos", [0, 1, 2])
@pytest.mark.parametrize("name", ["Anna", XSS])
@pytest.mark.parametrize("cover", [True, False])
def test_a_card_is_drawn_as_the_template_drew_it(alice, share, cover, name, photos):
    person = PersonFactory(owner=alice, name=name, faces=0)
    person.cover = FaceFactory(owner=alice, person=person, crop=True) if cover else None
    person.photo_count = photos
    context = {"person": person, "shared_library": share}
    old = engines["django"].from_string(OLD_CARD).render(context)
    new = engines["django"].from_string("{% load shared_people %}{% shared_person_card person %}").render(context)
    assert _tight(new) == _tight(old)
    assert (f'src="/shared/{share.id}/faces/{person.cover.id}/crop.jpg"' in new) if cover else "?" in new
    assert f'href="/shared/{share.id}/people/{person.id}/"' in new and XSS not in new
