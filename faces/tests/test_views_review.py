from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from faces.models import Face, FaceRejection
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, XSS, XSS_ESCAPED, count_queries, hx
from gallery.models import Photo
from smartgallery.tests.factories import FaceFactory, PersonFactory

URL = reverse("faces:review")


def suggest(owner, person, n, similarity=0.5):
    return [
        FaceFactory(owner=owner, person=person, state=Face.State.SUGGESTED, similarity=similarity - i / 100)
        for i in range(n)
    ]


@pytest.mark.django_db
def test_it_asks_about_the_person_with_the_most_suggestions_first(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    ben = PersonFactory(owner=alice, name="Ben")
    suggest(alice, anna, 1)
    best = suggest(alice, ben, 3)[0]
    html = alice_client.get(URL).content.decode()
    assert "4 suggestions left" in html
    assert 'Is this <a href="{}">Ben</a>?'.format(reverse("faces:person", args=[ben.id])) in html
    assert reverse("faces:face_confirm", args=[best.id]) in html
    assert "data-review-yes" in html and "data-review-no" in html and "js/review.js" in html


@pytest.mark.django_db
def test_yes_confirms_and_swaps_in_the_next_suggestion(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, second = suggest(alice, anna, 2)
    response = alice_client.post(
        reverse("faces:face_confirm", args=[first.id]), {"i": "0"}, **hx(HTTP_HX_TARGET="review-card")
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review-card"') and "<html" not in html
    assert "1 suggestion left" in html
    assert reverse("faces:face_confirm", args=[second.id]) in html
    first.refresh_from_db()
    assert first.state == Face.State.CONFIRMED


@pytest.mark.django_db
def test_no_rejects_remembers_and_swaps_in_the_next(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, second = suggest(alice, anna, 2)
    html = alice_client.post(
        reverse("faces:face_reject", args=[first.id]), {"i": "0", "person": anna.id}, **hx(HTTP_HX_TARGET="review-card")
    ).content.decode()
    assert reverse("faces:face_confirm", args=[second.id]) in html
    first.refresh_from_db()
    assert first.state == Face.State.UNKNOWN and first.person_id is None
    assert FaceRejection.objects.filter(face=first, person=anna).exists()


@pytest.mark.django_db
def test_the_last_answer_shows_that_nothing_is_left(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    (only,) = suggest(alice, anna, 1)
    html = alice_client.post(
        reverse("faces:face_confirm", args=[only.id]), **hx(HTTP_HX_TARGET="review-card")
    ).content.decode()
    assert "0 suggestions left" in html and "Nothing to review" in html


@pytest.mark.django_db
def test_without_js_yes_redirects_back_to_the_queue(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, _ = suggest(alice, anna, 2)
    response = alice_client.post(reverse("faces:face_confirm", args=[first.id]), {"next": URL + "?i=0"}, follow=True)
    assert response.redirect_chain[0][0] == URL + "?i=0"
    assert "1 suggestion left" in response.content.decode()


@pytest.mark.django_db
def test_arrows_move_through_the_queue(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, second, third = suggest(alice, anna, 3)
    html = alice_client.get(URL, {"i": "1"}, **hx(HTTP_HX_TARGET="review-card")).content.decode()
    assert reverse("faces:face_confirm", args=[second.id]) in html
    assert "data-review-prev" in html and "data-review-next" in html
    last = alice_client.get(URL, {"i": "99"}).content.decode()
    assert reverse("faces:face_confirm", args=[third.id]) in last and "data-review-next" not in last
    assert alice_client.get(URL, {"i": "x"}).status_code == 200


@pytest.mark.django_db
def test_grid_mode_groups_by_person_biggest_first(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    ben = PersonFactory(owner=alice, name="Ben")
    suggest(alice, anna, 1)
    suggest(alice, ben, 2)
    html = alice_client.get(URL, {"mode": "grid"}).content.decode()
    assert html.index(">Ben</a>?") < html.index(">Anna</a>?")
    assert html.count('id="review-face-') == 3


@pytest.mark.django_db
def test_the_card_walks_24_faces_of_a_person_then_the_next_person(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    ben = PersonFactory(owner=alice, name="Ben")
    annas = suggest(alice, anna, 26)  # the 2 least similar are not asked (24 a person)
    bens = suggest(alice, ben, 2)
    card = lambda i: alice_client.get(URL, {"i": i}, **hx(HTTP_HX_TARGET="review-card")).content.decode()  # noqa: E731
    assert reverse("faces:face_confirm", args=[annas[0].id]) in card(0)
    assert reverse("faces:face_confirm", args=[annas[23].id]) in card(23)
    assert reverse("faces:face_confirm", args=[bens[0].id]) in card(24) and ">Ben</a>?" in card(24)
    last = card(25)
    assert reverse("faces:face_confirm", args=[bens[1].id]) in last and "data-review-next" not in last
    assert "28 suggestions left" in last


@pytest.mark.django_db
def test_a_suggestion_on_a_photo_in_the_trash_is_not_asked(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    trashed, kept = suggest(alice, anna, 2)
    Photo.objects.filter(pk=trashed.photo_id).update(deleted_at=timezone.now())
    for mode in ("one", "grid"):
        html = alice_client.get(URL, {"mode": mode}).content.decode()
        assert "1 suggestion left" in html
        assert reverse("faces:face_confirm", args=[kept.id]) in html
        assert reverse("faces:face_confirm", args=[trashed.id]) not in html


@pytest.mark.django_db
def test_the_grid_shows_a_page_of_people_at_a_time(alice_client, alice):
    # 12 suggestions each: 5 persons make the first page's 60 tiles.
    persons = [PersonFactory(owner=alice, name=f"P{k}") for k in range(7)]
    for k, person in enumerate(persons):
        suggest(alice, person, 12, similarity=0.9 - k / 10)
    html = alice_client.get(URL, {"mode": "grid"}).content.decode()
    assert [f'id="review-section-{p.id}"' in html for p in persons] == [True] * 5 + [False] * 2
    assert html.count('id="review-face-') == 60 and "84 suggestions left" in html
    assert "No to all 60 on this page" in html
    assert f'href="{URL}?mode=grid&amp;from=5"' in html and "Previous people" not in html
    second = alice_client.get(URL, {"mode": "grid", "from": "5"}, **hx(HTTP_HX_TARGET="review-grid")).content.decode()
    assert second.lstrip().startswith('<div id="review-grid"') and "<html" not in second
    assert [f'id="review-section-{p.id}"' in second for p in persons] == [False] * 5 + [True] * 2
    assert "No to all 24 on this page" in second and '<input type="hidden" name="from" value="5">' in second
    assert f'href="{URL}?mode=grid"' in second and "Next people" not in second
    # Without JavaScript the link is a page of its own.
    page = alice_client.get(URL, {"mode": "grid", "from": "5"}).content.decode()
    assert "<html" in page and f'id="review-section-{persons[6].id}"' in page and "84 suggestions left" in page


@pytest.mark.django_db
def test_a_bulk_answer_on_a_later_page_redraws_that_page_or_the_last_one(alice_client, alice):
    persons = [PersonFactory(owner=alice, name=f"P{k}") for k in range(7)]
    faces = [suggest(alice, person, 12, similarity=0.9 - k / 10) for k, person in enumerate(persons)]
    asked = [f"{f.id}:{persons[5 + k].id}" for k in range(2) for f in faces[5 + k]]
    html = alice_client.post(
        reverse("faces:review_reject"), {"all": "1", "asked": asked, "from": "5"}, **hx(HTTP_HX_TARGET="review-grid")
    ).content.decode()
    assert "No to 24 suggestions" in html and "60 suggestions left" in html
    # Nobody is left on that page: the last page there is, the first one here.
    assert f'id="review-section-{persons[0].id}"' in html and "Nothing to review" not in html
    more = alice_client.post(
        reverse("faces:review_reject"),
        {"all": "1", "asked": [f"{f.id}:{persons[4].id}" for f in faces[4]], "from": "3"},
        **hx(HTTP_HX_TARGET="review-grid"),
    ).content.decode()
    # From the 4th person on: person 3 is still there, the answered person 4 is gone.
    assert f'id="review-section-{persons[3].id}"' in more and f'id="review-section-{persons[4].id}"' not in more


@pytest.mark.django_db
def test_a_grid_answer_keeps_the_section_of_a_person_on_a_later_page(alice_client, alice):
    persons = [PersonFactory(owner=alice, name=f"P{k}") for k in range(7)]
    faces = [suggest(alice, person, 12, similarity=0.9 - k / 10) for k, person in enumerate(persons)]
    answered = faces[6][0]  # on the second page
    html = alice_client.post(
        reverse("faces:face_confirm", args=[answered.id]), **hx(HTTP_HX_TARGET=f"review-face-{answered.id}")
    ).content.decode()
    assert f'id="review-count-{persons[6].id}" hx-swap-oob="true">11 suggestions' in html
    assert 'hx-swap-oob="delete"' not in html


@pytest.mark.django_db
def test_a_grid_answer_removes_the_tile_and_updates_the_count(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, _ = suggest(alice, anna, 2)
    html = alice_client.post(
        reverse("faces:face_confirm", args=[first.id]), **hx(HTTP_HX_TARGET=f"review-face-{first.id}")
    ).content.decode()
    assert 'id="review-remaining"' in html and 'hx-swap-oob="true"' in html and "1 suggestion left" in html
    assert "review-face-" not in html


@pytest.mark.django_db
def test_the_queue_is_empty_without_suggestions(alice_client, alice):
    PersonFactory(owner=alice, name="Anna")
    html = alice_client.get(URL).content.decode()
    assert "Nothing to review" in html and "0 suggestions left" in html


@pytest.mark.django_db
def test_names_are_escaped_in_the_page_and_the_card(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS)
    first, _ = suggest(alice, evil, 2)
    responses = [
        alice_client.get(URL),
        alice_client.get(URL, {"mode": "grid"}),
        alice_client.get(URL, **hx(HTTP_HX_TARGET="review-card")),
        alice_client.post(reverse("faces:face_confirm", args=[first.id]), **hx(HTTP_HX_TARGET="review-card")),
    ]
    for response in responses:
        html = response.content.decode()
        assert XSS not in html and XSS_ESCAPED in html


@pytest.mark.django_db
def test_the_keyboard_shortcuts_live_in_a_static_file(alice_client):
    script = (Path(settings.BASE_DIR) / "static" / "js" / "review.js").read_text()
    for key in ("y:", "n:", "ArrowRight", "ArrowLeft"):
        assert key in script
    html = alice_client.get(URL).content.decode()
    assert "onclick" not in html and "hx-on" not in html and "<script>" not in html


@pytest.mark.django_db
def test_the_page_query_count_does_not_grow_with_suggestions(
    alice_client, alice, bob_client, bob, django_assert_max_num_queries
):
    suggest(bob, PersonFactory(owner=bob, name="B"), 1)
    for i in range(15):
        suggest(alice, PersonFactory(owner=alice, name=f"P{i}", faces__crop=True), 5)
    for mode in ("one", "grid"):
        assert count_queries(alice_client, URL + f"?mode={mode}") == count_queries(bob_client, URL + f"?mode={mode}")
        with django_assert_max_num_queries(REQUEST_OVERHEAD_QUERIES + 5):
            alice_client.get(URL, {"mode": mode})


def grid_answer(client, name, face, **data):
    return client.post(
        reverse(f"faces:{name}", args=[face.id]), data, **hx(HTTP_HX_TARGET=f"review-face-{face.id}")
    ).content.decode()


@pytest.mark.django_db
def test_the_same_answer_repeated_shares_one_toast_and_one_undo(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 3)
    first = grid_answer(alice_client, "face_reject", faces[0], person=anna.id)
    second = grid_answer(alice_client, "face_reject", faces[1], person=anna.id)
    token = first.split('action="/people/undo/')[1].split("/")[0]
    assert f'data-toast="{token}"' in second and "×2" in second and "Undo all" in second
    assert "×" not in first and "Undo all" not in first
    # Another action starts a toast of its own.
    third = grid_answer(alice_client, "face_confirm", faces[2])
    assert f'data-toast="{token}"' not in third and "Undo all" not in third
    alice_client.post(reverse("faces:undo", args=[token]))
    states = {f.id: f.state for f in Face.objects.filter(pk__in=[f.id for f in faces])}
    assert states == {faces[0].id: "suggested", faces[1].id: "suggested", faces[2].id: "confirmed"}
    assert not FaceRejection.objects.filter(face__in=faces[:2]).exists()


@pytest.mark.django_db
def test_a_grid_answer_removes_the_section_with_the_last_suggestion(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    ben = PersonFactory(owner=alice, name="Ben")
    (only,) = suggest(alice, anna, 1)
    ben_face, _ = suggest(alice, ben, 2)
    html = grid_answer(alice_client, "face_reject", only, person=anna.id)
    assert f'<section id="review-section-{anna.id}" hx-swap-oob="delete">' in html
    assert "2 suggestions left" in html
    html = grid_answer(alice_client, "face_confirm", ben_face)
    assert f'id="review-count-{ben.id}" hx-swap-oob="true">1 suggestion<' in html
