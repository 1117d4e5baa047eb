"""people_lists and review_queue: the same answers from fewer rows (docs/BENCHMARKS.md, Web)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faces import selectors
from faces.models import Face
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory


@pytest.mark.django_db
def test_people_lists_count_faces_photos_and_suggestions_per_person(alice, bob):
    anna = PersonFactory(owner=alice, name="anna", faces=0)
    ben = PersonFactory(owner=alice, name="Ben", faces=0)
    empty = PersonFactory(owner=alice, name="Cleo", faces=0)
    shared = PhotoFactory(owner=alice)
    FaceFactory(owner=alice, photo=shared, person=anna, state=Face.State.CONFIRMED)
    FaceFactory(owner=alice, photo=shared, person=anna, state=Face.State.AUTO)  # same photo: 2 faces, 1 photo
    FaceFactory(owner=alice, person=anna, state=Face.State.AUTO)
    FaceFactory(owner=alice, person=anna, state=Face.State.SUGGESTED)
    FaceFactory(owner=alice, person=ben, state=Face.State.CONFIRMED)
    FaceFactory(owner=alice, person=ben, state=Face.State.SUGGESTED)
    FaceFactory(owner=alice, person=ben, state=Face.State.SUGGESTED)
    PersonFactory(owner=bob, name="Anna of Bob", faces=5)

    with CaptureQueriesContext(connection) as queries:
        persons = selectors.people_lists(user=alice).shown.persons
    by_name = {p.name: (p.face_count, p.photo_count, p.suggested_count) for p in persons}

    assert by_name == {"anna": (3, 2, 1), "Ben": (1, 1, 2), "Cleo": (0, 0, 0)}
    assert [p.id for p in persons] == [anna.id, ben.id, empty.id]
    assert len(queries.captured_queries) == 2  # the names, the counts (no cover face to read)


@pytest.mark.django_db
def test_people_lists_order_by_count_then_name_or_by_name(alice):
    zoe = PersonFactory(owner=alice, name="Zoe", faces=2)
    adam = PersonFactory(owner=alice, name="adam", faces=1)
    bea = PersonFactory(owner=alice, name="Bea", faces=2)
    hidden = PersonFactory(owner=alice, name="Hidden", faces=3, hidden=True)

    by_count = selectors.people_lists(user=alice, hidden_offset=0)
    assert [p.id for p in by_count.shown.persons] == [bea.id, zoe.id, adam.id]
    assert [p.id for p in by_count.hidden.persons] == [hidden.id]
    by_name = selectors.people_lists(user=alice, order="name")
    assert [p.id for p in by_name.shown.persons] == [adam.id, bea.id, zoe.id]
    assert by_name.names == [(adam.id, "adam"), (bea.id, "Bea"), (hidden.id, "Hidden"), (zoe.id, "Zoe")]


@pytest.mark.django_db
def test_review_queue_keeps_the_most_similar_faces_per_person_and_the_full_count(alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    ben = PersonFactory(owner=alice, name="Ben", faces=0)
    similarities = [0.31, 0.45, 0.29, 0.44, 0.40]
    anna_faces = [FaceFactory(owner=alice, person=anna, state=Face.State.SUGGESTED, similarity=s) for s in similarities]
    ben_faces = [FaceFactory(owner=alice, person=ben, state=Face.State.SUGGESTED, similarity=0.3) for _ in range(2)]

    items = selectors.review_queue(user=alice, faces_per_person=3)

    assert [(item.person.id, item.count) for item in items] == [(anna.id, 5), (ben.id, 2)]
    assert [f.id for f in items[0].faces] == [anna_faces[1].id, anna_faces[3].id, anna_faces[4].id]
    assert [f.id for f in items[1].faces] == [ben_faces[0].id, ben_faces[1].id]  # equal similarity: by id
    assert items[0].faces[0].photo.owner_id == alice.id


@pytest.mark.django_db
def test_group_samples_are_the_biggest_live_unknown_faces_of_each_group(alice):
    from django.utils import timezone

    from gallery.models import Photo
    from smartgallery.tests.factories import FaceGroupFactory

    first, second = FaceGroupFactory(owner=alice, faces=0), FaceGroupFactory(owner=alice, faces=0)
    sizes = {first: [50, 90, 70, 90, 60], second: [40, 80]}
    faces = {g: [FaceFactory(owner=alice, group=g, size=s) for s in sizes[g]] for g in sizes}
    trashed = FaceFactory(owner=alice, group=first, size=200)
    Photo.objects.filter(pk=trashed.photo_id).update(deleted_at=timezone.now())
    FaceFactory(owner=alice, group=first, size=300, state=Face.State.REJECTED_AS_FACE)

    groups = {g.id: g for g in selectors.group_list_with_samples(user=alice, limit=10, samples=3)}

    a = faces[first]
    assert [f.id for f in groups[first.id].samples] == [a[1].id, a[3].id, a[2].id]  # 90, 90 (by id), 70
    assert [f.id for f in groups[second.id].samples] == [faces[second][1].id, faces[second][0].id]
    assert groups[first.id].samples[0].photo.owner_id == alice.id
