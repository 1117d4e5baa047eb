"""The People page draws the named persons a page at a time: "Show more people" swaps itself for
the next page's rows (htmx) or opens that page (a plain link), in both sorts, with the search and
the hidden ones (docs/BENCHMARKS.md, Web: a bounded amount of work whatever the library size)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from django.urls import reverse

from faces import views
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, count_queries, hx
from smartgallery.tests.factories import FaceGroupFactory, PersonFactory

URL = reverse("faces:people")
MORE = hx(HTTP_HX_TARGET="people-more")
HIDDEN_MORE = hx(HTTP_HX_TARGET="hidden-people-more")


@pytest.fixture
def page_of_3(monkeypatch):
    monkeypatch.setattr(views, "PEOPLE_PAGE", 3)


def _names(html: str) -> list[str]:
    return re.findall(r'class="person-name">([^<]*)<', html)


def _more_url(html: str, target: str = "people-more") -> str | None:
    found = re.search(
        rf'<li class="(?:person|group)-more" id="{target}"><a class="button" href="([^"]+)" hx-get="([^"]+)"', html
    )
    if not found:
        return None
    assert found.group(1) == found.group(2)  # the same page with or without JavaScript
    return htmllib.unescape(found.group(1))


def _library(owner):
    """8 persons; face counts with ties (the name, then the id, decides within a count)."""
    counts = {"Zoe": 3, "adam": 1, "Bea": 3, "Carl": 2, "dora": 2, "Eve": 0, "Finn": 5, "Gus": 2}
    return {name: PersonFactory(owner=owner, name=name, faces=k) for name, k in counts.items()}


def _all_pages(client, url: str, first_headers: dict | None = None, more_headers: dict = MORE, target="people-more"):
    html = client.get(url, **(first_headers or {})).content.decode()
    names = _names(html)
    pages = 1
    while (url := _more_url(html, target)) is not None:
        response = client.get(url, **more_headers)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html and 'id="people-list"' not in html  # only the next rows
        assert html.lstrip().startswith('<li class="person-card">')
        names += _names(html)
        pages += 1
    return names, pages


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("count", ["Finn", "Bea", "Zoe", "Carl", "dora", "Gus", "adam", "Eve"]),
        ("name", ["adam", "Bea", "Carl", "dora", "Eve", "Finn", "Gus", "Zoe"]),
    ],
)
def test_show_more_people_pages_through_everyone_in_order_once(page_of_3, alice_client, alice, sort, expected):
    _library(alice)
    names, pages = _all_pages(alice_client, f"{URL}?sort={sort}")
    assert names == expected
    assert pages == 3


@pytest.mark.django_db
def test_ties_in_a_count_are_broken_by_name_then_id_the_same_on_every_page(page_of_3, alice_client, alice):
    twins = [PersonFactory(owner=alice, name="Twin", faces=1) for _ in range(5)]
    html = alice_client.get(URL).content.decode()
    first = re.findall(r'href="/people/(\d+)/"', html)
    rest = re.findall(r'href="/people/(\d+)/"', alice_client.get(_more_url(html), **MORE).content.decode())
    assert [int(pk) for pk in first + rest] == [t.id for t in twins]


@pytest.mark.django_db
def test_the_first_page_shows_a_page_of_people_and_a_link_to_the_next(page_of_3, alice_client, alice):
    _library(alice)
    html = alice_client.get(URL, {"sort": "name"}).content.decode()
    assert _names(html) == ["adam", "Bea", "Carl"]
    assert _more_url(html) == f"{URL}?sort=name&offset=3"
    assert "Show more people" in html


@pytest.mark.django_db
def test_without_javascript_the_link_opens_the_next_page_saying_where_it_is(page_of_3, alice_client, alice):
    _library(alice)
    response = alice_client.get(URL, {"sort": "name", "offset": "3"})
    html = response.content.decode()
    assert "<html" in html
    assert _names(html) == ["dora", "Eve", "Finn"]
    assert "People 4–6 of 8." in html and f'<a href="{URL}?sort=name">Back to the first</a>' in html
    html = alice_client.get(URL, {"sort": "name", "offset": "30"}).content.decode()
    assert _names(html) == [] and "No more people." in html and "Nobody is named yet" not in html


@pytest.mark.django_db
def test_a_bad_offset_is_the_first_page(page_of_3, alice_client, alice):
    _library(alice)
    for offset in ("-3", "x", ""):
        html = alice_client.get(URL, {"sort": "name", "offset": offset}).content.decode()
        assert _names(html) == ["adam", "Bea", "Carl"]


@pytest.mark.django_db
def test_a_search_result_pages_too_and_keeps_its_query(page_of_3, alice_client, alice):
    for name in ("Ann 1", "Änn 2", "Bob", "ann 3", "Joanne", "Anna 5", "Zed"):
        PersonFactory(owner=alice, name=name, faces=1)
    html = alice_client.get(URL, {"q": "ann", "sort": "name"}).content.decode()
    assert _more_url(html) == f"{URL}?sort=name&q=ann&offset=3"
    names, pages = _all_pages(alice_client, f"{URL}?sort=name&q=ann")
    assert names == ["Ann 1", "Änn 2", "ann 3", "Anna 5", "Joanne"]
    assert pages == 2


@pytest.mark.django_db
def test_hidden_people_page_on_their_own(page_of_3, alice_client, alice):
    _library(alice)
    shy = [PersonFactory(owner=alice, name=f"Shy {k}", faces=1, hidden=True) for k in range(4)]
    html = alice_client.get(URL, {"sort": "name"}).content.decode()
    assert "Show hidden people (4)" in html and "Shy" not in "".join(_names(html))
    first = alice_client.get(URL, {"sort": "name", "hidden": "1"}).content.decode()
    assert _more_url(first) == f"{URL}?sort=name&hidden=1&offset=3"
    assert _more_url(first, "hidden-people-more") == f"{URL}?sort=name&hidden=1&offset=0&hidden_offset=3"
    names, pages = _all_pages(
        alice_client, f"{URL}?sort=name&hidden=1", more_headers=HIDDEN_MORE, target="hidden-people-more"
    )
    assert names == ["adam", "Bea", "Carl"] + [p.name for p in shy]
    assert pages == 2


@pytest.mark.django_db
def test_a_refresh_of_the_list_starts_again_from_the_first_page(page_of_3, alice_client, alice):
    _library(alice)
    response = alice_client.get(URL, {"sort": "name"}, **hx(HTTP_HX_TARGET="people-list"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="people-list"')
    # The section's own refresh (facesChanged, recognitionTick) asks for page 1 again.
    assert f'hx-get="{URL}?sort=name" hx-trigger="facesChanged from:body, recognitionTick from:body"' in html
    assert _names(html) == ["adam", "Bea", "Carl"] and _more_url(html) == f"{URL}?sort=name&offset=3"


@pytest.mark.django_db
def test_the_next_page_shows_only_the_users_own_people(page_of_3, alice_client, alice, bob_client, bob):
    _library(alice)
    for k in range(5):
        PersonFactory(owner=bob, name=f"Bobs-{k}", faces=1)
    for client, owner_prefix in ((bob_client, "Bobs-"), (alice_client, None)):
        names, _ = _all_pages(client, f"{URL}?sort=name")
        if owner_prefix:
            assert names == [f"Bobs-{k}" for k in range(5)]
        else:
            assert not any(n.startswith("Bobs-") for n in names) and len(names) == 8
    # bob asking for alice's next page gets his own.
    html = bob_client.get(URL, {"sort": "name", "offset": "3"}, **MORE).content.decode()
    assert _names(html) == ["Bobs-3", "Bobs-4"]


@pytest.mark.django_db
def test_the_next_page_costs_the_same_few_queries_whatever_the_library_size(
    page_of_3, alice_client, alice, bob_client, bob
):
    for k in range(4):
        PersonFactory(owner=bob, name=f"B{k}", faces=2)
    for k in range(40):
        PersonFactory(owner=alice, name=f"A{k}", faces=2)
    for sort in ("count", "name"):
        url = f"{URL}?sort={sort}&offset=3"
        small, big = count_queries(bob_client, url, **MORE), count_queries(alice_client, url, **MORE)
        assert small == big <= REQUEST_OVERHEAD_QUERIES + 3
    assert len(_names(alice_client.get(f"{URL}?offset=3", **MORE).content.decode())) == 3


# Group cards ("Who are they?") -------------------------------------------------------------

GROUPS_MORE = hx(HTTP_HX_TARGET="groups-more")


def _group_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li class="group-card card[^"]*" id="group-(\d+)"', html)]


@pytest.mark.django_db
def test_show_more_groups_pages_through_every_group_largest_first_once(monkeypatch, alice_client, alice, bob):
    monkeypatch.setattr(views, "GROUPS_SHOWN", 2)
    groups = [FaceGroupFactory(owner=alice, faces=size) for size in (1, 3, 2, 3, 1)]
    FaceGroupFactory(owner=bob, faces=9)
    expected = [g.id for g in sorted(groups, key=lambda g: (-g.faces.count(), g.id))]
    html = alice_client.get(URL).content.decode()
    ids = _group_ids(html)
    assert len(ids) == 2
    pages = 1
    while (url := _more_url(html, "groups-more")) is not None:
        response = alice_client.get(url, **GROUPS_MORE)
        html = response.content.decode()
        assert "<html" not in html and 'id="groups"' not in html  # only the next cards
        ids += _group_ids(html)
        pages += 1
    assert ids == expected and pages == 3
    # Without JavaScript the link opens the page with those groups.
    html = alice_client.get(URL, {"groups_offset": "2"}).content.decode()
    assert _group_ids(html) == expected[2:4] and "<html" in html


@pytest.mark.django_db
def test_the_next_groups_are_only_the_users_own_and_cost_the_same_few_queries(
    monkeypatch, alice_client, alice, bob_client, bob
):
    monkeypatch.setattr(views, "GROUPS_SHOWN", 2)
    mine = [FaceGroupFactory(owner=bob, faces=2) for _ in range(4)]
    for _ in range(30):
        FaceGroupFactory(owner=alice, faces=3)
    html = bob_client.get(URL, {"groups_offset": "2"}, **GROUPS_MORE).content.decode()
    assert _group_ids(html) == [g.id for g in mine[2:]]
    url = f"{URL}?groups_offset=2"
    small, big = count_queries(bob_client, url, **GROUPS_MORE), count_queries(alice_client, url, **GROUPS_MORE)
    assert small == big <= 10
