"""Group questions ("Are these 6 faces Anna?"): on the People page's group cards and first in the
review queue (one at a time and grid), answered Yes, No or "Someone else" through htmx partials
with a toast and Undo, or plain forms without JavaScript."""

import pytest
from django.test import Client
from django.urls import reverse

from faces.models import Face, FaceGroup, FaceRejection, Person
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, XSS, XSS_ESCAPED, count_queries, hx
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory

PEOPLE = reverse("faces:people")
REVIEW = reverse("faces:review")


def asking(owner, person, faces=3, **fields):
    """An unnamed group that, as a whole, looks like `person` (as the worker's refresh sets it)."""
    return FaceGroupFactory(owner=owner, faces=faces, suggested_person=person, suggested_score=0.42, **fields)


def yes(group):
    return reverse("faces:group_question_confirm", args=[group.id])


def no(group):
    return reverse("faces:group_question_reject", args=[group.id])


def suggest(owner, person, n):
    return [
        FaceFactory(owner=owner, person=person, state=Face.State.SUGGESTED, similarity=0.5 - i / 100) for i in range(n)
    ]


def states(group_faces):
    return {f.id: (f.state, f.person_id) for f in Face.objects.filter(pk__in=[f.id for f in group_faces])}


def undo_token(html):
    return html.split('action="/people/undo/')[1].split("/")[0]


# The People page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_group_card_asks_its_question_with_yes_no_and_someone_else(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    asked = asking(alice, anna, faces=4)
    plain = FaceGroupFactory(owner=alice, faces=2)
    html = alice_client.get(PEOPLE).content.decode()
    card = html[html.index(f'id="group-{asked.id}"') : html.index(f'id="group-{plain.id}"')]
    assert "Are these 4 faces" in card and f'<a href="{reverse("faces:person", args=[anna.id])}">Anna</a>?' in card
    assert f'hx-post="{yes(asked)}"' in card and f'hx-post="{no(asked)}"' in card
    assert 'aria-label="Yes, these are Anna"' in card and 'aria-label="No, not Anna"' in card
    assert "Someone else? Their name" in card and "Name all 4" in card
    other = html[html.index(f'id="group-{plain.id}"') :]
    assert "Who is this?" in other and html.count("Are these") == 1


@pytest.mark.django_db
def test_a_group_of_one_face_is_asked_in_the_singular(alice_client, alice):
    asking(alice, PersonFactory(owner=alice, name="Anna"), faces=1)
    html = alice_client.get(PEOPLE).content.decode()
    assert "Is this face <a" in html and "Are these" not in html


@pytest.mark.django_db
def test_no_question_about_a_deleted_person(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    Person.objects.filter(pk=anna.pk).update(deleted_at="2026-01-01T00:00:00Z")
    for html in (alice_client.get(PEOPLE).content.decode(), alice_client.get(REVIEW).content.decode()):
        assert yes(group) not in html and "Are these" not in html


@pytest.mark.django_db
def test_yes_names_the_group_with_a_toast_and_undo(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    faces = list(group.faces.all())
    response = alice_client.post(yes(group), **hx())
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Named 3 faces Anna." in html and "/people/undo/" in html
    assert "facesChanged" in response.headers["HX-Trigger"]
    assert set(states(faces).values()) == {(Face.State.CONFIRMED, anna.id)}
    alice_client.post(reverse("faces:undo", args=[undo_token(html)]), **hx())
    assert set(states(faces).values()) == {(Face.State.UNKNOWN, None)}
    assert set(Face.objects.filter(pk__in=[f.id for f in faces]).values_list("group_id", flat=True)) == {group.id}


@pytest.mark.django_db
def test_no_remembers_not_anna_for_every_face_and_the_group_stays_to_be_named(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    faces = list(group.faces.all())
    html = alice_client.post(no(group), **hx()).content.decode()
    assert "Not Anna: remembered. The faces stay together, to be named." in html and "/people/undo/" in html
    assert FaceRejection.objects.filter(person=anna, face__in=faces).count() == 3
    assert set(states(faces).values()) == {(Face.State.UNKNOWN, None)}
    group.refresh_from_db()
    assert group.suggested_person_id is None and group.faces.count() == 3
    page = alice_client.get(PEOPLE).content.decode()
    card = page[page.index(f'id="group-{group.id}"') :]
    assert "Who is this?" in card and yes(group) not in page
    alice_client.post(reverse("faces:undo", args=[undo_token(html)]), **hx())
    assert not FaceRejection.objects.filter(person=anna, face__in=faces).exists()


@pytest.mark.django_db
def test_without_js_an_answer_redirects_back_with_a_message(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    response = alice_client.post(yes(group), follow=True)
    assert response.redirect_chain[0][0] == PEOPLE
    assert "Named 3 faces Anna." in response.content.decode()
    other = asking(alice, anna)
    response = alice_client.post(no(other), {"next": REVIEW + "?i=0"}, follow=True)
    assert response.redirect_chain[0][0] == REVIEW + "?i=0"
    assert "Not Anna: remembered." in response.content.decode()


@pytest.mark.django_db
def test_a_question_answered_meanwhile_is_a_message_and_changes_nothing(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    FaceGroup.objects.filter(pk=group.pk).update(suggested_person=None)
    for url in (yes(group), no(group)):
        response = alice_client.post(url, **hx())
        html = response.content.decode()
        assert "no longer asked about anyone" in html and "message-error" in html
        assert response.headers.get("HX-Reswap") == "none" and "HX-Trigger" not in response.headers
    assert set(states(group.faces.all()).values()) == {(Face.State.UNKNOWN, None)}
    assert not FaceRejection.objects.exists()


@pytest.mark.django_db
def test_a_face_rejected_for_anna_before_is_left_out_of_yes(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    rejected = group.faces.order_by("id").first()
    FaceRejection.objects.create(owner=alice, face=rejected, person=anna)
    html = alice_client.post(yes(group), **hx()).content.decode()
    assert "Named 2 faces Anna. 1 left unknown" in html
    rejected.refresh_from_db()
    assert rejected.state == Face.State.UNKNOWN


# The review queue: one at a time -----------------------------------------------------------


@pytest.mark.django_db
def test_group_questions_come_first_in_the_queue_with_their_counter(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    ben = PersonFactory(owner=alice, name="Ben")
    small = asking(alice, anna, faces=2)
    big = asking(alice, ben, faces=5)
    suggest(alice, anna, 3)
    html = alice_client.get(REVIEW).content.decode()
    assert "2 questions left · 3 suggestions left" in html
    # The larger group first: one answer settles the most faces.
    assert 'id="review-question">Are these 5 faces' in html and f'hx-post="{yes(big)}"' in html
    assert yes(small) not in html
    assert "data-review-yes" in html and "data-review-no" in html
    assert f'hx-post="{reverse("faces:group_name", args=[big.id])}"' in html and "Someone else? Their name" in html
    assert '<datalist id="person-names"><option value="Anna"></option><option value="Ben"></option>' in html
    second = alice_client.get(REVIEW, {"i": "1"}, **hx(HTTP_HX_TARGET="review-card")).content.decode()
    assert f'hx-post="{yes(small)}"' in second and "data-review-prev" in second
    third = alice_client.get(REVIEW, {"i": "2"}, **hx(HTTP_HX_TARGET="review-card")).content.decode()
    assert 'id="review-question">Is this <a' in third


@pytest.mark.django_db
def test_each_card_shows_the_faces_of_its_own_group(alice_client, alice):
    # The card reads the samples of the group it shows only (not of every question).
    small = asking(alice, PersonFactory(owner=alice, name="Anna"), faces=2)
    big = asking(alice, PersonFactory(owner=alice, name="Ben"), faces=5)

    def shown(html, group):
        return {face.id for face in group.faces.all() if reverse("faces:face", args=[face.id]) in html}

    first = alice_client.get(REVIEW).content.decode()
    assert shown(first, big) == set(big.faces.values_list("id", flat=True)) and not shown(first, small)
    second = alice_client.get(REVIEW, {"i": "1"}, **hx(HTTP_HX_TARGET="review-card")).content.decode()
    assert shown(second, small) == set(small.faces.values_list("id", flat=True)) and not shown(second, big)


@pytest.mark.django_db
def test_yes_on_the_card_moves_the_queue_on(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    faces = list(group.faces.values_list("id", flat=True))
    (face,) = suggest(alice, anna, 1)
    response = alice_client.post(yes(group), {"i": "0"}, **hx(HTTP_HX_TARGET="review-card"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review-card"')
    assert "Named 3 faces Anna." in html and 'aria-live="polite">1 suggestion left</p>' in html
    assert reverse("faces:face_confirm", args=[face.id]) in html and f'hx-post="{yes(group)}"' not in html
    assert Face.objects.filter(pk__in=faces, state=Face.State.CONFIRMED, person=anna).count() == 3


@pytest.mark.django_db
def test_no_on_the_card_moves_the_queue_on_and_the_last_answer_empties_it(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    html = alice_client.post(no(group), {"i": "0"}, **hx(HTTP_HX_TARGET="review-card")).content.decode()
    assert "Nothing to review" in html and "0 suggestions left" in html and "Not Anna: remembered." in html


@pytest.mark.django_db
def test_someone_else_on_the_card_names_the_group_and_moves_on(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    faces = list(group.faces.values_list("id", flat=True))
    (face,) = suggest(alice, anna, 1)
    html = alice_client.post(
        reverse("faces:group_name", args=[group.id]),
        {"all": "1", "name": "Carla", "i": "0"},
        **hx(HTTP_HX_TARGET="review-card"),
    ).content.decode()
    assert html.lstrip().startswith('<section id="review-card"') and "Named 3 faces Carla." in html
    assert reverse("faces:face_confirm", args=[face.id]) in html
    carla = Person.objects.get(owner=alice, name="Carla")
    assert Face.objects.filter(pk__in=faces, person=carla, state=Face.State.CONFIRMED).count() == 3


@pytest.mark.django_db
def test_a_stale_question_on_the_card_shows_what_is_asked_now(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    (face,) = suggest(alice, anna, 1)
    FaceGroup.objects.filter(pk=group.pk).update(suggested_person=None)
    response = alice_client.post(yes(group), {"i": "0"}, **hx(HTTP_HX_TARGET="review-card"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="review-card"') and "no longer asked" in html
    assert reverse("faces:face_confirm", args=[face.id]) in html and "HX-Trigger" not in response.headers


# The review queue: grid --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_grid_shows_group_questions_before_the_faces(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna, faces=10, faces__crop=True)
    suggest(alice, anna, 2)
    html = alice_client.get(REVIEW, {"mode": "grid"}).content.decode()
    assert "1 question left · 2 suggestions left" in html
    assert html.index(f'id="review-group-{group.id}"') < html.index(f'id="review-section-{anna.id}"')
    section = html[html.index(f'id="review-group-{group.id}"') : html.index(f'id="review-section-{anna.id}"')]
    assert section.count('alt="Unknown face"') == 8 and "See all 10" in section
    assert f'hx-post="{yes(group)}"' in section and f'hx-post="{no(group)}"' in section
    assert "Someone else? Their name" in section


@pytest.mark.django_db
def test_a_grid_answer_removes_the_section_and_updates_the_counter(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, second = asking(alice, anna), asking(alice, anna, faces=2)
    suggest(alice, anna, 1)
    target = hx(HTTP_HX_TARGET=f"review-group-{first.id}")
    html = alice_client.post(yes(first), **target).content.decode()
    assert 'id="review-remaining"' in html and 'hx-swap-oob="true"' in html
    assert "1 question left · 1 suggestion left" in html
    assert "review-group-" not in html and "review-section-" not in html  # the answered section goes, no other
    html = alice_client.post(no(second), **hx(HTTP_HX_TARGET=f"review-group-{second.id}")).content.decode()
    assert ">1 suggestion left<" in html


@pytest.mark.django_db
def test_the_last_grid_answer_shows_that_nothing_is_left(alice_client, alice):
    group = asking(alice, PersonFactory(owner=alice, name="Anna"))
    html = alice_client.post(yes(group), **hx(HTTP_HX_TARGET=f"review-group-{group.id}")).content.decode()
    assert 'id="review-grid"' in html and "Nothing to review" in html


# Safety ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_names_are_escaped_in_every_question(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS)
    group = asking(alice, evil)
    responses = [
        alice_client.get(PEOPLE),
        alice_client.get(REVIEW),
        alice_client.get(REVIEW, {"mode": "grid"}),
        alice_client.post(no(group), **hx()),
    ]
    for response in responses:
        html = response.content.decode()
        assert XSS not in html and XSS_ESCAPED in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["group_question_confirm", "group_question_reject"])
@pytest.mark.parametrize("headers", [{}, hx(), hx(HTTP_HX_TARGET="review-card")], ids=["plain", "htmx", "card"])
def test_bob_gets_404_on_alices_question_and_changes_nothing(name, headers, alice, bob_client, bob):
    anna = PersonFactory(owner=alice, name="Anna")
    group = asking(alice, anna)
    asking(bob, PersonFactory(owner=bob, name="Bob-Anna"))
    response = bob_client.post(reverse(f"faces:{name}", args=[group.id]), {"i": "0"}, **headers)
    assert response.status_code == 404
    assert set(states(group.faces.all()).values()) == {(Face.State.UNKNOWN, None)}
    assert not FaceRejection.objects.filter(owner=alice).exists()
    group.refresh_from_db()
    assert group.suggested_person_id == anna.id


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["group_question_confirm", "group_question_reject"])
def test_answers_are_posts_for_signed_in_users(name, alice_client, alice):
    group = asking(alice, PersonFactory(owner=alice, name="Anna"))
    url = reverse(f"faces:{name}", args=[group.id])
    anonymous = Client().post(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("account_login"))
    assert alice_client.get(url).status_code == 405
    assert alice_client.get(url, **hx()).status_code == 405
    group.refresh_from_db()
    assert group.suggested_person_id is not None and not FaceRejection.objects.exists()


@pytest.mark.django_db
def test_bobs_queue_never_asks_about_alices_groups(alice, bob_client, bob):
    group = asking(alice, PersonFactory(owner=alice, name="Anna"))
    for url in (PEOPLE, REVIEW, REVIEW + "?mode=grid"):
        html = bob_client.get(url).content.decode()
        assert yes(group) not in html and ">Anna<" not in html


@pytest.mark.django_db
def test_the_review_query_count_does_not_grow_with_questions(
    alice_client, alice, bob_client, bob, django_assert_max_num_queries
):
    asking(bob, PersonFactory(owner=bob, name="B", faces__crop=True))
    for i in range(12):
        asking(alice, PersonFactory(owner=alice, name=f"P{i}", faces__crop=True), faces=4, faces__crop=True)
    for mode in ("one", "grid"):
        url = REVIEW + f"?mode={mode}"
        assert count_queries(alice_client, url) == count_queries(bob_client, url)
        with django_assert_max_num_queries(REQUEST_OVERHEAD_QUERIES + 6):
            alice_client.get(url)
