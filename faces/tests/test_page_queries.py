"""Every page a user lives on costs at most 10 queries, the same for a small library as for one
ten times its size (issue 16; bench/web.py measures the same pages on 10,000 photos).

bob has 5 persons, alice 50, each person with faces, suggestions and photos they share with
others (for the "photos by people" filter), unnamed groups (two of them asking about someone)
and unnamed faces. Each page is counted after a warm-up request (viewdata.count_queries)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from faces import selectors
from faces.models import Face, FaceGroup, Person
from faces.tests.viewdata import count_queries
from gallery.models import Photo
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

MAX_QUERIES = 10


def library(owner, persons: int) -> None:
    people = [PersonFactory(owner=owner, name=f"P{owner.pk}-{k}", faces=2, faces__crop=True) for k in range(persons)]
    for k, person in enumerate(people):
        for i in range(3):
            FaceFactory(owner=owner, person=person, state=Face.State.SUGGESTED, similarity=0.5 - i / 100, crop=True)
        # A photo with this person and the next two: the filter's AND has answers.
        photo = PhotoFactory(owner=owner)
        for other in people[k : k + 3]:
            FaceFactory(owner=owner, person=other, photo=photo, crop=True)
    for k in range(max(2, persons // 5)):
        group = FaceGroupFactory(owner=owner, faces=4, faces__crop=True)
        if k < 2:
            group.suggested_person = people[k]
            group.save(update_fields=["suggested_person"])
    for _ in range(persons):
        FaceFactory(owner=owner, crop=True)


def pages(owner) -> dict[str, tuple[str, dict]]:
    persons = list(Person.objects.filter(owner=owner).order_by("id"))
    first = persons[0]
    trio = "&".join(f"person={p.id}" for p in persons[:3])
    after = selectors.person_photos(user=owner, person_id=first.id, limit=1).next_cursor
    photo = Face.objects.filter(owner=owner, person=first).values_list("photo_id", flat=True).order_by("-photo_id")[0]
    group = FaceGroup.objects.filter(owner=owner).order_by("id").first()
    hx = {"HTTP_HX_REQUEST": "true"}
    return {
        "timeline": (reverse("gallery:timeline"), {}),
        "timeline next": (reverse("gallery:timeline") + f"?after={_timeline_cursor(owner)}", hx),
        "people": (reverse("faces:people"), {}),
        "people next": (reverse("faces:people") + "?sort=count&offset=2", {"HTTP_HX_TARGET": "people-more", **hx}),
        "people, next groups": (reverse("faces:people") + "?groups_offset=1", {"HTTP_HX_TARGET": "groups-more", **hx}),
        "people next by name": (
            reverse("faces:people") + "?sort=name&offset=2",
            {"HTTP_HX_TARGET": "people-more", **hx},
        ),
        "person": (reverse("faces:person", args=[first.id]), {}),
        "person next": (reverse("faces:person", args=[first.id]) + f"?after={after}", hx),
        "review": (reverse("faces:review"), {}),
        "review later card": (reverse("faces:review") + "?i=7", {}),
        "review grid": (reverse("faces:review") + "?mode=grid", {}),
        "review grid next": (
            reverse("faces:review") + "?mode=grid&from=3",
            {"HTTP_HX_TARGET": "review-load-more", **hx},
        ),
        "filter and": (reverse("faces:photo_filter") + f"?{trio}&mode=and", {}),
        "filter or": (reverse("faces:photo_filter") + f"?{trio}&mode=or", {}),
        "photo": (reverse("gallery:photo", args=[photo]), {}),
        "group": (reverse("faces:group", args=[group.id]), {}),
        "unnamed": (reverse("faces:unnamed"), {}),
        "processing": (reverse("gallery:processing"), {}),
    }


def _timeline_cursor(owner) -> str:
    from gallery import selectors as gallery_selectors

    return gallery_selectors.photo_timeline(user=owner, limit=1).next_cursor


@pytest.fixture
def libraries(alice, bob):
    library(bob, 5)
    library(alice, 50)
    assert Photo.objects.filter(owner=alice).count() > 200


@pytest.mark.django_db
def test_every_page_costs_at_most_10_queries_whatever_the_library_size(libraries, alice, bob, alice_client, bob_client):
    small, big = pages(bob), pages(alice)
    counts = {}
    for name in big:
        counts[name] = (count_queries(bob_client, small[name][0], **small[name][1]),)
        counts[name] += (count_queries(alice_client, big[name][0], **big[name][1]),)
    grew = {name: c for name, c in counts.items() if c[0] != c[1]}
    assert not grew, f"queries (5 persons, 50 persons) that grow with the library: {grew}"
    over = {name: c[1] for name, c in counts.items() if c[1] > MAX_QUERIES}
    assert not over, f"pages above {MAX_QUERIES} queries: {over}"
