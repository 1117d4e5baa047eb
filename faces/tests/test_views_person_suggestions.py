"""A person's suggested faces on their page: answered one by one, or all at once with "Yes, all N
are Anna" (faces.services.person_confirm_suggestions)."""

import pytest
from django.test import Client
from django.urls import reverse

from faces.models import Face, FaceRejection
from faces.tests.viewdata import XSS, XSS_ESCAPED, hx
from smartgallery.tests.factories import FaceFactory, PersonFactory

BLOCK = hx(HTTP_HX_TARGET="person-suggestions")


def suggest(owner, person, n):
    return [
        FaceFactory(owner=owner, person=person, state=Face.State.SUGGESTED, similarity=0.5 - i / 100) for i in range(n)
    ]


def page(person):
    return reverse("faces:person", args=[person.id])


def confirm_all(person):
    return reverse("faces:person_confirm_suggestions", args=[person.id])


def states(faces):
    return sorted(Face.objects.filter(pk__in=[f.id for f in faces]).values_list("state", flat=True))


@pytest.mark.django_db
def test_the_page_shows_the_suggestions_with_one_button_for_all(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 3)
    html = alice_client.get(page(anna)).content.decode()
    block = html[html.index('<section id="person-suggestions"') : html.index('<h2 class="section-title">Photos')]
    assert "hidden" not in block.split(">")[0]
    assert "Is this Anna?" in block and "3 suggestions" in block and "Yes, all 3 are Anna" in block
    assert f'hx-post="{confirm_all(anna)}"' in block
    for face in faces:
        assert (
            reverse("faces:face_confirm", args=[face.id]) in block
            and reverse("faces:face_reject", args=[face.id]) in block
        )
    # The heading's count leads to the block on the same page.
    assert 'href="#person-suggestions">3 suggestions to review' in html


@pytest.mark.django_db
def test_the_block_is_empty_and_hidden_without_suggestions(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    html = alice_client.get(page(anna)).content.decode()
    block = html[html.index('<section id="person-suggestions"') : html.index('<h2 class="section-title">Photos')]
    assert " hidden>" in block and "Yes, all" not in block and "Is this Anna?" not in block


@pytest.mark.django_db
def test_many_suggestions_show_the_most_alike_and_count_them_all(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 30)
    html = alice_client.get(page(anna), **BLOCK).content.decode()
    assert html.lstrip().startswith('<section id="person-suggestions"') and "<html" not in html
    assert "30 suggestions, the 24 most alike shown" in html and "Yes, all 30 are Anna" in html
    assert reverse("faces:face_confirm", args=[faces[0].id]) in html
    assert reverse("faces:face_confirm", args=[faces[-1].id]) not in html


@pytest.mark.django_db
def test_yes_all_confirms_every_suggestion_and_undo_brings_them_back(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 3)
    response = alice_client.post(confirm_all(anna), **BLOCK)
    html = response.content.decode()
    opening = html[html.index('<section id="person-suggestions"') :].split(">")[0]
    assert html.lstrip().startswith('<section id="person-suggestions"') and opening.endswith(" hidden")
    assert "Confirmed 3 faces of Anna." in html and "/people/undo/" in html
    assert "facesChanged" in response.headers["HX-Trigger"]
    assert states(faces) == ["confirmed"] * 3
    token = html.split('action="/people/undo/')[1].split("/")[0]
    alice_client.post(reverse("faces:undo", args=[token]), **hx())
    assert states(faces) == ["suggested"] * 3


@pytest.mark.django_db
def test_yes_all_counts_the_confirmed_not_the_photo_mates_it_released(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 2)
    mate = FaceFactory(owner=alice, photo=faces[0].photo, person=anna, state=Face.State.AUTO, similarity=0.7)
    html = alice_client.post(confirm_all(anna), **BLOCK).content.decode()
    assert "Confirmed 2 faces of Anna." in html
    assert states(faces) == ["confirmed"] * 2 and states([mate]) == ["unknown"]


@pytest.mark.django_db
def test_yes_all_without_js_redirects_back_with_a_message(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 2)
    response = alice_client.post(confirm_all(anna), follow=True)
    assert response.redirect_chain[0][0] == page(anna)
    assert "Confirmed 2 faces of Anna." in response.content.decode()
    assert states(faces) == ["confirmed"] * 2


@pytest.mark.django_db
def test_yes_all_with_nothing_left_says_so(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=1)
    response = alice_client.post(confirm_all(anna), **BLOCK)
    html = response.content.decode()
    assert "no suggestions for Anna any more" in html and "message-error" in html
    assert response.headers.get("HX-Reswap") == "none"


@pytest.mark.django_db
def test_one_answer_redraws_the_block_with_the_new_count(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    first, second, third = suggest(alice, anna, 3)
    html = alice_client.post(
        reverse("faces:face_reject", args=[first.id]), {"person": anna.id}, **BLOCK
    ).content.decode()
    assert html.lstrip().startswith('<section id="person-suggestions"')
    assert "Yes, all 2 are Anna" in html and reverse("faces:face_confirm", args=[first.id]) not in html
    assert "Not Anna: remembered." in html
    assert FaceRejection.objects.filter(face=first, person=anna).exists()
    # One left: it is answered on its face, with no button for "all" of one.
    html = alice_client.post(reverse("faces:face_confirm", args=[second.id]), **BLOCK).content.decode()
    assert "Yes, all" not in html and confirm_all(anna) not in html
    assert reverse("faces:face_confirm", args=[third.id]) in html and "1 suggestion<" in html


@pytest.mark.django_db
def test_names_are_escaped_in_the_block(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS)
    suggest(alice, evil, 2)
    for response in (alice_client.get(page(evil)), alice_client.get(page(evil), **BLOCK)):
        html = response.content.decode()
        assert XSS not in html and XSS_ESCAPED in html


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, hx(), BLOCK], ids=["plain", "htmx", "block"])
def test_bob_gets_404_on_alices_person_and_changes_nothing(headers, alice, bob_client, bob):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 2)
    suggest(bob, PersonFactory(owner=bob, name="Bob-Anna"), 1)
    assert bob_client.post(confirm_all(anna), **headers).status_code == 404
    assert bob_client.get(page(anna), **BLOCK).status_code == 404
    assert states(faces) == ["suggested"] * 2


@pytest.mark.django_db
def test_yes_all_is_a_post_for_signed_in_users(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    faces = suggest(alice, anna, 2)
    anonymous = Client().post(confirm_all(anna))
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("account_login"))
    assert alice_client.get(confirm_all(anna)).status_code == 405
    assert alice_client.get(confirm_all(anna), **hx()).status_code == 405
    assert states(faces) == ["suggested"] * 2
