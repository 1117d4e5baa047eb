"""person_list and review_queue: the same answers from fewer rows (docs/BENCHMARKS.md, Web)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faces import selectors
from faces.models import Face
from faces.tests.viewdata import make_face, make_person, make_photo


@pytest.mark.django_db
def test_person_list_counts_faces_photos_and_suggestions_per_person(alice, bob):
    anna = make_person(alice, "anna", faces=0)
    ben = make_person(alice, "Ben", faces=0)
    empty = make_person(alice, "Cleo", faces=0)
    shared = make_photo(alice)
    make_face(alice, shared, person=anna, state=Face.State.CONFIRMED)
    make_face(alice, shared, person=anna, state=Face.State.AUTO)  # same photo: 2 faces, 1 photo
    make_face(alice, person=anna, state=Face.State.AUTO)
    make_face(alice, person=anna, state=Face.State.SUGGESTED)
    make_face(alice, person=ben, state=Face.State.CONFIRMED)
    make_face(alice, person=ben, state=Face.State.SUGGESTED)
    make_face(alice, person=ben, state=Face.State.SUGGESTED)
    make_person(bob, "Anna of Bob", faces=5)

    with CaptureQueriesContext(connection) as queries:
        persons = selectors.person_list(user=alice)
    by_name = {p.name: (p.face_count, p.photo_count, p.suggested_count) for p in persons}

    assert by_name == {"anna": (3, 2, 1), "Ben": (1, 1, 2), "Cleo": (0, 0, 0)}
    assert [p.id for p in persons] == [anna.id, ben.id, empty.id]
    assert len(queries.captured_queries) == 2


@pytest.mark.django_db
def test_person_list_orders_by_count_then_name_or_by_name(alice):
    zoe = make_person(alice, "Zoe", faces=2)
    adam = make_person(alice, "adam", faces=1)
    bea = make_person(alice, "Bea", faces=2)
    hidden = make_person(alice, "Hidden", faces=3, hidden=True)

    assert [p.id for p in selectors.person_list(user=alice)] == [bea.id, zoe.id, adam.id]
    assert [p.id for p in selectors.person_list(user=alice, include_hidden=True)] == [
        hidden.id,
        bea.id,
        zoe.id,
        adam.id,
    ]
    assert [p.id for p in selectors.person_list(user=alice, include_hidden=True, order="name")] == [
        adam.id,
        bea.id,
        hidden.id,
        zoe.id,
    ]


@pytest.mark.django_db
def test_review_queue_keeps_the_most_similar_faces_per_person_and_the_full_count(alice):
    anna = make_person(alice, "Anna", faces=0)
    ben = make_person(alice, "Ben", faces=0)
    similarities = [0.31, 0.45, 0.29, 0.44, 0.40]
    anna_faces = [make_face(alice, person=anna, state=Face.State.SUGGESTED, similarity=s) for s in similarities]
    ben_faces = [make_face(alice, person=ben, state=Face.State.SUGGESTED, similarity=0.3) for _ in range(2)]

    items = selectors.review_queue(user=alice, faces_per_person=3)

    assert [(item.person.id, item.count) for item in items] == [(anna.id, 5), (ben.id, 2)]
    assert [f.id for f in items[0].faces] == [anna_faces[1].id, anna_faces[3].id, anna_faces[4].id]
    assert [f.id for f in items[1].faces] == [ben_faces[0].id, ben_faces[1].id]  # equal similarity: by id
    assert items[0].faces[0].photo.owner_id == alice.id
