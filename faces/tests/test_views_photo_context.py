"""Photo context (issue 14): where a face crop is shown for a decision (the review card and grid,
the group cards and the group page, the unnamed faces, the faces that may not be Anna, Anna's
suggestions), the face carries what the page needs to show the whole photo with the face
outlined: the photo's preview URL (the owner-checked media route), the face's box in percent of
the photo and the photo's shape. Loaded with what the page already selects: no query more."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from faces.models import Face
from faces.tests.viewdata import count_queries
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

DIM = 8
ANNA = np.eye(DIM)[0]


def _near(seed: int) -> bytes:
    vector = ANNA + 0.2 * np.random.default_rng(seed).normal(size=DIM)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tobytes()


def make_world(owner, *, n: int = 1):
    """Anna with confirmed faces, `n` suggestions of her, a group asking about her and a group
    asking nothing (n+1 faces each), and `n` unnamed faces; every face on a 400x200 photo."""
    anna = PersonFactory(owner=owner, name="Anna", faces=0)
    photo = lambda: PhotoFactory(owner=owner, width=400, height=200, preview=f"{owner.id}/derivatives/p.jpg")  # noqa: E731
    for i in range(3):
        FaceFactory(owner=owner, person=anna, photo=photo(), embedding=_near(i), crop=True)
    suggested = [
        FaceFactory(
            owner=owner, person=anna, photo=photo(), state=Face.State.SUGGESTED, similarity=0.5, x1=100, y1=50, size=40
        )
        for _ in range(n)
    ]
    asking = FaceGroupFactory(owner=owner, faces=0, suggested_person=anna, suggested_score=0.6)
    quiet = FaceGroupFactory(owner=owner, faces=0)
    for group in (asking, quiet):
        for _ in range(n + 1):
            FaceFactory(owner=owner, photo=photo(), group=group, crop=True)
    unnamed = [FaceFactory(owner=owner, photo=photo(), crop=True) for _ in range(n)]
    return anna, suggested, asking, quiet, unnamed


def pages(anna, quiet) -> dict[str, str]:
    review = reverse("faces:review")
    return {
        "review-group-card": review,  # the group question comes first
        # The last card of the queue (clamped): a face in both worlds, whose second one adds a
        # group question at position 1.
        "review-face-card": review + "?i=999",
        "review-grid": review + "?mode=grid",
        "people": reverse("faces:people"),
        "group": reverse("faces:group", args=[quiet.id]),
        "unnamed": reverse("faces:unnamed"),
        "outliers": reverse("faces:person_outliers", args=[anna.id]),
        "person": reverse("faces:person", args=[anna.id]),
    }


# Measured before the photo context came (the same world, MariaDB, the test client's session
# and user included): it may add no query to any of these pages, and none per face.
QUERIES = {
    "review-group-card": 7,  # 9 before the card read only its own face (issue 16)
    "review-face-card": 7,  # 9 before, the same; 8 before the card read the samples of its own group only
    "review-grid": 9,
    "people": 8,
    "group": 8,
    "unnamed": 6,  # 5 before: the page's ids from the index, then its faces (issue 16)
    "outliers": 8,
    # 11 before the bulk answers (6f80151) added the names for "Move to"; 9 since the person
    # is read once for the page's three parts (issue 16)
    "person": 9,
}
# The same pages while the library is unchanged: counts, orders and chosen faces come from the
# cache (smartgallery.library_cache).
QUERIES_CACHED = {
    # Pages kept rendered (smartgallery.fragments): the session, the user, the shares of the
    # navigation, and the person or group read before the cache (the owner check). Before, with
    # only counts and orders cached: review cards 5, grid 7, people 5, group 7, unnamed 4, person 6.
    "review-group-card": 3,
    "review-face-card": 3,
    "review-grid": 3,
    "people": 3,
    "group": 4,
    "unnamed": 3,
    "outliers": 7,  # not kept
    "person": 4,
}


@pytest.mark.django_db
def test_pages_with_photo_context_cost_the_same_queries_as_before(alice_client, alice):
    anna, _, _, quiet, _ = make_world(alice)
    urls = pages(anna, quiet)
    for cold, expected in ((True, QUERIES), (False, QUERIES_CACHED)):
        assert {name: count_queries(alice_client, url, cold=cold) for name, url in urls.items()} == expected
    make_world(alice, n=6)  # more faces on every page, each on a photo of its own
    for cold, expected in ((True, QUERIES), (False, QUERIES_CACHED)):
        assert {name: count_queries(alice_client, url, cold=cold) for name, url in urls.items()} == expected


def contexts(html: str) -> list[tuple[str, str, str]]:
    """(preview URL, face box, photo size) of each face that shows its photo."""
    return re.findall(r'data-photo-context="([^"]+)" data-face-box="([^"]+)" data-photo-size="([^"]+)"', html)


@pytest.mark.django_db
def test_every_face_shown_for_a_decision_carries_its_photo(alice_client, alice):
    anna, suggested, asking, quiet, unnamed = make_world(alice)
    urls = pages(anna, quiet)
    preview = reverse("gallery:preview", args=[suggested[0].photo_id])
    # The suggestion (100,50)-(140,90) on a 400x200 photo, in percent.
    for name in ("review-face-card", "person"):
        assert contexts(alice_client.get(urls[name]).content.decode()) == [(preview, "25.0 25.0 10.0 20.0", "400 200")]
    grid = contexts(alice_client.get(urls["review-grid"]).content.decode())
    assert (preview, "25.0 25.0 10.0 20.0", "400 200") in grid and len(grid) == 2 + 1  # the group's 2, the face
    group_faces = {reverse("gallery:preview", args=[f.photo_id]) for f in asking.faces.all()}
    assert {url for url, _, _ in contexts(alice_client.get(urls["review-group-card"]).content.decode())} == group_faces
    people = contexts(alice_client.get(urls["people"]).content.decode())
    assert len(people) == 4  # both groups' samples; never a person's cover
    assert len(contexts(alice_client.get(urls["group"]).content.decode())) == 2
    unnamed_html = alice_client.get(urls["unnamed"]).content.decode()
    assert [c[0] for c in contexts(unnamed_html)] == [reverse("gallery:preview", args=[unnamed[0].photo_id])]
    assert len(contexts(alice_client.get(urls["outliers"]).content.decode())) == 3
    assert 'data-photo-date="' in unnamed_html and 'draggable="false"' in unnamed_html


@pytest.mark.django_db
def test_the_photo_is_the_owners_preview_route(alice_client, alice, bob_client):
    anna, suggested, *_ = make_world(alice)
    preview = reverse("gallery:preview", args=[suggested[0].photo_id])
    assert preview in alice_client.get(reverse("faces:person", args=[anna.id])).content.decode()
    assert bob_client.get(preview).status_code == 404


@pytest.mark.django_db
def test_a_photo_without_a_preview_offers_no_context(alice_client, alice):
    anna, suggested, *_ = make_world(alice)
    suggested[0].photo.preview = ""
    suggested[0].photo.save()
    assert contexts(alice_client.get(reverse("faces:review") + "?i=1").content.decode()) == []


@pytest.mark.django_db
def test_the_pages_load_the_script_and_list_the_key(alice_client, alice):
    anna, _, _, quiet, _ = make_world(alice)
    for name, url in pages(anna, quiet).items():
        html = alice_client.get(url).content.decode()
        assert "js/context.js" in html and "js/app.js" in html, name
        help_ = html[html.index('id="shortcuts"') :]
        assert "<kbd>V</kbd>" in help_, name
        assert "<script>" not in html and ' style="' not in html, name
