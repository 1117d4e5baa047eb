"""Picking several faces and answering them at once (issue 14): on a person's page ("Not Anna",
"These are Anna", "Move to…") and in the review grid ("Yes to selected", "No to selected", "No
to all", "These are <name>"). Plain POST and htmx, one toast with one Undo, clear messages for
bad input, another user's (or a sharing viewer's) ids a 404 that changes nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faces.models import Face, FaceRejection, Person
from faces.tests.viewdata import XSS, XSS_ESCAPED, hx
from sharing.models import Share
from smartgallery.tests.factories import FaceFactory, PersonFactory

pytestmark = pytest.mark.django_db

PERSON_BAR = hx(HTTP_HX_TARGET="person-bulk")
GRID = hx(HTTP_HX_TARGET="review-grid")
GRID_URL = reverse("faces:review") + "?mode=grid"


def suggest(owner, person, n, state=Face.State.SUGGESTED):
    return [FaceFactory(owner=owner, person=person, state=state, similarity=0.5 - i / 100) for i in range(n)]


def url(name, person=None):
    return reverse(f"faces:{name}", args=[person.id] if person else [])


def states(faces):
    by_id = Face.objects.in_bulk([f.id for f in faces])
    return [(by_id[f.id].state, by_id[f.id].person_id) for f in faces]


def undo_token(html: str) -> str:
    return html.split('action="/people/undo/')[1].split("/")[0]


def all_rows():
    return [list(model.objects.order_by("id").values()) for model in (Face, Person, FaceRejection)]


@pytest.fixture
def anna(alice):
    person = PersonFactory(owner=alice, name="Anna", faces=3)
    person.tiles = list(Face.objects.filter(person=person).order_by("id"))
    person.suggested = suggest(alice, person, 2)
    return person


# The person's page -------------------------------------------------------------------------


def test_every_face_on_the_page_can_be_picked_for_the_bar(alice_client, anna):
    html = alice_client.get(url("person", anna)).content.decode()
    for face in anna.tiles:
        assert f'name="face" value="{face.id}" form="person-bulk" data-pick' in html
    for face in anna.suggested:
        assert f'name="suggestion" value="{face.id}" form="person-bulk" data-pick' in html
    bar = html[html.index('<form id="person-bulk"') : html.index("</form>", html.index('<form id="person-bulk"'))]
    assert f'hx-post="{url("person_faces_reject", anna)}"' in bar and "Not Anna" in bar
    assert url("person_faces_confirm", anna) in bar and "These are Anna" in bar
    assert url("person_faces_move", anna) in bar and 'list="person-names"' in bar
    # Enter in the name field moves (the form's first button), it never says "Not Anna".
    assert bar.index(url("person_faces_move", anna)) < bar.index("Not Anna")
    assert "js/select.js" in html and "data-select-all" in html


def test_not_anna_for_the_picked_faces_with_htmx_then_one_undo(alice_client, anna):
    picked_tiles, picked_suggestion = anna.tiles[:2], anna.suggested[0]
    response = alice_client.post(
        url("person_faces_reject", anna),
        {"face": [f.id for f in picked_tiles], "suggestion": [picked_suggestion.id]},
        **PERSON_BAR,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Not Anna: 3 faces, remembered." in html
    assert html.count('action="/people/undo/') == 1 and "Undo all" not in html
    # The picked photo tiles go; the suggestions block is redrawn with the one left.
    for face in picked_tiles:
        assert f'<li id="person-tile-{face.id}" hx-swap-oob="delete"></li>' in html
    assert f'id="person-tile-{anna.tiles[2].id}"' not in html
    assert '<section id="person-suggestions"' in html and 'hx-swap-oob="true"' in html
    assert "1 suggestion" in html and f'value="{picked_suggestion.id}"' not in html
    assert "facesChanged" in response["HX-Trigger"]
    assert states([*picked_tiles, picked_suggestion]) == [(Face.State.UNKNOWN, None)] * 3
    assert FaceRejection.objects.filter(person=anna).count() == 3

    alice_client.post(reverse("faces:undo", args=[undo_token(html)]), **hx())
    assert states(picked_tiles) == [(Face.State.CONFIRMED, anna.id)] * 2
    assert states([picked_suggestion]) == [(Face.State.SUGGESTED, anna.id)]
    assert not FaceRejection.objects.exists()


def test_not_anna_without_javascript_goes_back_to_her_page(alice_client, anna):
    response = alice_client.post(
        url("person_faces_reject", anna), {"face": [anna.tiles[0].id], "next": url("person", anna)}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("person", anna)
    html = response.content.decode()
    assert "Not Anna: 1 face, remembered." in html and "/people/undo/" in html
    # Her tile of that face is gone (its id: a bare value="<id>" also matches other inputs
    # where ids are small, as on SQLite).
    assert f'id="person-tile-{anna.tiles[0].id}"' not in html
    assert f'id="person-tile-{anna.tiles[1].id}"' in html


def test_these_are_anna_confirms_the_picked_suggestions(alice_client, anna):
    response = alice_client.post(
        url("person_faces_confirm", anna),
        {"suggestion": [anna.suggested[0].id], "face": [anna.tiles[0].id]},
        **PERSON_BAR,
    )
    html = response.content.decode()
    assert "Confirmed 1 face of Anna." in html and "/people/undo/" in html
    assert 'hx-swap-oob="delete"' not in html  # confirmed photo tiles stay
    assert states(anna.suggested) == [(Face.State.CONFIRMED, anna.id), (Face.State.SUGGESTED, anna.id)]


def test_these_are_anna_counts_the_confirmed_not_the_photo_mates_it_released(alice_client, alice, anna):
    picked = anna.suggested[0]
    mate = FaceFactory(owner=alice, photo=picked.photo, person=anna, state=Face.State.AUTO, similarity=0.7)
    html = alice_client.post(url("person_faces_confirm", anna), {"suggestion": [picked.id]}, **PERSON_BAR)
    assert "Confirmed 1 face of Anna." in html.content.decode()
    assert states([picked, mate]) == [(Face.State.CONFIRMED, anna.id), (Face.State.UNKNOWN, None)]


def test_move_the_picked_faces_to_a_new_name(alice_client, alice, anna):
    response = alice_client.post(
        url("person_faces_move", anna),
        {"name": "Carla", "face": [anna.tiles[0].id], "suggestion": [anna.suggested[1].id]},
        **PERSON_BAR,
    )
    html = response.content.decode()
    carla = Person.objects.get(owner=alice, name="Carla")
    assert "Moved 2 faces to Carla." in html
    assert f'<li id="person-tile-{anna.tiles[0].id}" hx-swap-oob="delete">' in html
    assert states([anna.tiles[0], anna.suggested[1]]) == [(Face.State.CONFIRMED, carla.id)] * 2


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("person_faces_reject", {}, "Pick the faces that are not this person."),
        ("person_faces_confirm", {}, "Pick the faces that are Anna."),
        ("person_faces_move", {"name": "Ben"}, "Pick the faces to move."),
        ("person_faces_move", {"face": ["TILE"]}, "Type a name or pick a person."),
        ("person_faces_confirm", {"face": ["TILE"]}, "These faces are confirmed already."),
    ],
)
def test_a_bad_request_on_her_page_says_why_and_changes_nothing(alice_client, anna, name, data, message):
    data = {
        k: [anna.tiles[0].id if v == "TILE" else v for v in vs] if isinstance(vs, list) else vs
        for k, vs in data.items()
    }
    before = all_rows()
    plain = alice_client.post(url(name, anna), data, follow=True).content.decode()
    htmx = alice_client.post(url(name, anna), data, **PERSON_BAR).content.decode()
    assert message in plain and message in htmx and "message-error" in htmx
    assert all_rows() == before


def test_a_face_id_that_is_not_a_number_is_404(alice_client, anna):
    assert alice_client.post(url("person_faces_reject", anna), {"suggestion": ["x"]}).status_code == 404


def test_her_page_answer_costs_the_same_queries_for_more_faces(alice_client, alice):
    def queries(count: int) -> int:
        person = PersonFactory(owner=alice, faces=count)
        faces = list(Face.objects.filter(person=person))
        with CaptureQueriesContext(connection) as ctx:
            response = alice_client.post(
                url("person_faces_reject", person), {"face": [f.id for f in faces]}, **PERSON_BAR
            )
        assert response.status_code == 200
        return len(ctx.captured_queries)

    queries(1)
    assert queries(3) == queries(30)


# The review grid ---------------------------------------------------------------------------


@pytest.fixture
def grid(alice, anna):
    ben = PersonFactory(owner=alice, name="Ben", faces=1)
    ben.suggested = suggest(alice, ben, 3)
    return anna, ben


def asked(*faces_of):
    return [f"{face.id}:{person.id}" for person in faces_of for face in person.suggested]


def test_the_grid_offers_picking_and_the_bar(alice_client, grid):
    anna, ben = grid
    html = alice_client.get(GRID_URL).content.decode()
    for person in (anna, ben):
        for face in person.suggested:
            assert f'name="face" value="{face.id}" form="review-bulk" data-pick' in html
            assert f'name="asked" value="{face.id}:{person.id}" form="review-bulk"' in html
    bar = html[html.index('<form id="review-bulk"') : html.index("</form>", html.index('<form id="review-bulk"'))]
    assert "No to all 5 on this page" in bar and "Yes to selected" in bar and "No to selected" in bar
    # Enter in the name field names the faces (the form's first button), never "No to all".
    assert bar.index(url("review_name")) < bar.index("No to all")
    assert '<datalist id="person-names"><option value="Anna"></option><option value="Ben">' in html


def test_no_to_all_answers_every_suggestion_on_the_grid_with_one_undo(alice_client, grid):
    anna, ben = grid
    response = alice_client.post(url("review_reject"), {"all": "1", "asked": asked(anna, ben)}, **GRID)
    html = response.content.decode()
    assert "No to 5 suggestions: remembered." in html and html.count('action="/people/undo/') == 1
    assert '<div id="review-grid"' in html and "Nothing to review" in html
    assert states(anna.suggested + ben.suggested) == [(Face.State.UNKNOWN, None)] * 5
    alice_client.post(reverse("faces:undo", args=[undo_token(html)]), **hx())
    assert states(anna.suggested) == [(Face.State.SUGGESTED, anna.id)] * 2
    assert states(ben.suggested) == [(Face.State.SUGGESTED, ben.id)] * 3
    assert not FaceRejection.objects.exists()


def test_no_and_yes_to_the_selected(alice_client, grid):
    anna, ben = grid
    html = alice_client.post(
        url("review_reject"), {"face": [ben.suggested[0].id], "asked": asked(anna, ben)}, **GRID
    ).content.decode()
    assert "No to 1 suggestion: remembered." in html and "4 suggestions left" in html
    assert f'value="{ben.suggested[0].id}"' not in html
    html = alice_client.post(
        url("review_confirm"),
        {"face": [anna.suggested[0].id, ben.suggested[1].id], "asked": asked(anna, ben)},
        **GRID,
    ).content.decode()
    assert "Confirmed 2 faces." in html and "2 suggestions left" in html
    assert states([anna.suggested[0], ben.suggested[1], ben.suggested[0]]) == [
        (Face.State.CONFIRMED, anna.id),
        (Face.State.CONFIRMED, ben.id),
        (Face.State.UNKNOWN, None),
    ]


def test_these_are_a_typed_name_for_the_selected(alice_client, alice, grid):
    anna, ben = grid
    picked = [anna.suggested[1], ben.suggested[2]]
    html = alice_client.post(
        url("review_name"), {"face": [f.id for f in picked], "asked": asked(anna, ben), "name": " carla "}, **GRID
    ).content.decode()
    carla = Person.objects.get(owner=alice, name="carla")
    assert "Named 2 faces carla." in html
    assert states(picked) == [(Face.State.CONFIRMED, carla.id)] * 2


def test_the_grid_without_javascript_goes_back_to_the_grid(alice_client, grid):
    anna, ben = grid
    response = alice_client.post(
        url("review_reject"), {"all": "1", "asked": asked(anna), "next": GRID_URL}, follow=True
    )
    assert response.redirect_chain[-1][0] == GRID_URL
    assert "No to 2 suggestions: remembered." in response.content.decode()


def test_an_answer_given_meanwhile_is_left_alone_and_said(alice_client, grid):
    anna, ben = grid
    Face.objects.filter(pk=anna.suggested[0].pk).update(state=Face.State.CONFIRMED)
    html = alice_client.post(url("review_reject"), {"all": "1", "asked": asked(anna)}, **GRID).content.decode()
    assert "No to 1 suggestion: remembered. 1 face had been answered in the meantime" in html
    assert states([anna.suggested[0]]) == [(Face.State.CONFIRMED, anna.id)]


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("review_reject", {"asked": "ASKED"}, "Pick the faces first."),
        ("review_confirm", {"asked": "ASKED"}, "Pick the faces first."),
        ("review_reject", {"all": "1"}, "There are no suggestions on this page any more."),
        ("review_reject", {"all": "1", "asked": ["12:x"]}, "That selection could not be read"),
        ("review_confirm", {"face": "FACE"}, "That selection could not be read"),
        ("review_name", {"face": "FACE", "asked": "ASKED"}, "Type a name or pick a person."),
        ("review_name", {"face": "FACE", "asked": "ASKED", "name": "\u200b"}, "A name is required."),
    ],
)
def test_a_bad_grid_request_says_why_and_changes_nothing(alice_client, grid, name, data, message):
    anna, ben = grid
    fill = {"ASKED": asked(anna, ben), "FACE": [anna.suggested[0].id]}
    data = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    before = all_rows()
    plain = alice_client.post(url(name), data, follow=True).content.decode()
    htmx = alice_client.post(url(name), data, **GRID).content.decode()
    assert message in plain and message in htmx and "message-error" in htmx
    assert all_rows() == before


def test_the_grid_answer_costs_the_same_queries_for_more_faces(alice_client, alice):
    def queries(count: int) -> int:
        person = PersonFactory(owner=alice, faces=1)
        person.suggested = suggest(alice, person, count)
        with CaptureQueriesContext(connection) as ctx:
            alice_client.post(url("review_reject"), {"all": "1", "asked": asked(person)}, **GRID)
        return len(ctx.captured_queries)

    queries(1)
    assert queries(3) == queries(30)


def test_names_are_escaped_in_the_bars(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS, faces=2)
    suggest(alice, evil, 2)
    for page in (url("person", evil), GRID_URL):
        html = alice_client.get(page).content.decode()
        assert XSS not in html and XSS_ESCAPED in html


# Another user, a sharing viewer ------------------------------------------------------------


def bulk_requests(alice_anna, bob_bert, mine_face):
    """Every bulk action with alice's ids in it, sent by someone else (bob, or carol who views
    alice's shared library). `mine_face`: a face of the sender's own, to mix in."""
    hers = alice_anna.suggested[0].id
    return [
        (url("person_faces_reject", alice_anna), {"face": [hers]}),
        (url("person_faces_confirm", alice_anna), {"suggestion": [hers]}),
        (url("person_faces_move", alice_anna), {"suggestion": [hers], "name": "Mallory"}),
        (url("review_reject"), {"all": "1", "asked": [f"{hers}:{alice_anna.id}"]}),
        (url("review_reject"), {"all": "1", "asked": [f"{mine_face.id}:{bob_bert.id}", f"{hers}:{alice_anna.id}"]}),
        (url("review_reject"), {"all": "1", "asked": [f"{mine_face.id}:{alice_anna.id}"]}),
        (url("review_confirm"), {"face": [hers], "asked": [f"{hers}:{alice_anna.id}"]}),
        (url("review_confirm"), {"face": [mine_face.id], "asked": [f"{mine_face.id}:{alice_anna.id}"]}),
        (
            url("review_name"),
            {
                "face": [mine_face.id, hers],
                "asked": [f"{mine_face.id}:{bob_bert.id}", f"{hers}:{alice_anna.id}"],
                "name": "Mallory",
            },
        ),
        (
            url("review_name"),
            {"face": [mine_face.id], "asked": [f"{mine_face.id}:{bob_bert.id}"], "person": alice_anna.id},
        ),
    ]


@pytest.mark.parametrize("who", ["bob", "carol"])
@pytest.mark.parametrize("headers", [{}, GRID], ids=["plain", "htmx"])
def test_someone_else_gets_404_and_nothing_changes(request, alice, anna, who, headers):
    sender = request.getfixturevalue(who)
    client = request.getfixturevalue(f"{who}_client")
    if who == "carol":
        Share.objects.create(owner=alice, email=sender.email, viewer=sender)
    bert = PersonFactory(owner=sender, name="Bert", faces=1)
    (mine,) = suggest(sender, bert, 1)
    before = all_rows()
    for target, data in bulk_requests(anna, bert, mine):
        assert client.post(target, data, **headers).status_code == 404, (target, data)
    assert all_rows() == before
