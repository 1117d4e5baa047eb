"""The People page's counts and group sizes, read by cheaper queries (docs/BENCHMARKS.md, Web), are
still exactly their definitions: a person's faces (confirmed + auto), photos with such a face and
suggested faces, a group's unknown faces, each leaving out the photos in the trash.

The definitions are written here the plain way, one query per person or a join of every face and
its photo, and compared with what the page's selectors give on a library made of the awkward cases."""

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from faces import selectors
from faces.models import Face, FaceGroup, Person
from gallery.models import Photo
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

SHOWN = (Face.State.CONFIRMED, Face.State.AUTO)


def defined_counts(user) -> dict[int, tuple[int, int, int]]:
    """(faces, photos, suggested) of each of the user's persons, by definition."""
    live = Face.objects.filter(owner=user, photo__deleted_at__isnull=True)
    counts = {}
    for person in Person.objects.for_user(user):
        shown = live.filter(person=person, state__in=SHOWN)
        suggested = live.filter(person=person, state=Face.State.SUGGESTED)
        counts[person.id] = (shown.count(), shown.values("photo").distinct().count(), suggested.count())
    return counts


def defined_groups(user) -> list[tuple[int, int]]:
    """(group, size) of the groups offered, largest first, as the join of every face counted them."""
    unknown = Q(faces__state=Face.State.UNKNOWN, faces__photo__deleted_at__isnull=True)
    groups = (
        FaceGroup.objects.for_user(user)
        .filter(dismissed=False)
        .annotate(size=Count("faces", filter=unknown))
        .filter(size__gte=1)
        .order_by("-size", "id")
    )
    return [(g.id, g.size) for g in groups]


def trash(*faces: Face) -> None:
    Photo.objects.filter(pk__in=[f.photo_id for f in faces]).update(deleted_at=timezone.now())


@pytest.fixture
def library(alice, bob):
    """Alice's persons and groups with every case the counts must get right."""
    anna = PersonFactory(owner=alice, name="Anna", faces=3)
    one_photo = PhotoFactory(owner=alice)
    # Several faces of Anna on one photo (a mirror): 3 faces, 1 photo, confirmed and auto mixed.
    FaceFactory(owner=alice, photo=one_photo, person=anna, state=Face.State.CONFIRMED)
    FaceFactory(owner=alice, photo=one_photo, person=anna, state=Face.State.AUTO)
    FaceFactory(owner=alice, photo=one_photo, person=anna, state=Face.State.AUTO)
    FaceFactory(owner=alice, person=anna, state=Face.State.SUGGESTED)
    # A suggestion on a photo that also shows her: counted as suggested, not as a face or photo.
    FaceFactory(owner=alice, photo=one_photo, person=anna, state=Face.State.SUGGESTED)
    ben = PersonFactory(owner=alice, name="Ben", faces=2)
    trash(FaceFactory(owner=alice, person=ben, state=Face.State.AUTO))
    trash(FaceFactory(owner=alice, person=ben, state=Face.State.SUGGESTED))
    # Ben's face on a trashed photo that also holds a live person's face elsewhere.
    shared = FaceFactory(owner=alice, person=anna, state=Face.State.AUTO)
    FaceFactory(owner=alice, photo=shared.photo, person=ben)
    trash(shared)
    hidden = PersonFactory(owner=alice, name="Hidden Cleo", faces=4, hidden=True)
    FaceFactory(owner=alice, person=hidden, state=Face.State.SUGGESTED)
    PersonFactory(owner=alice, name="Dora", faces=0)  # nobody's face yet: zeros
    only_suggested = PersonFactory(owner=alice, name="Eve", faces=0)
    FaceFactory(owner=alice, person=only_suggested, state=Face.State.SUGGESTED)
    # A face rejected as a face keeps no count; one left on a deleted person is nobody's count.
    FaceFactory(owner=alice, person=anna, state=Face.State.REJECTED_AS_FACE)
    gone = PersonFactory(owner=alice, name="Gone", faces=0)
    FaceFactory(owner=alice, person=gone, state=Face.State.REJECTED_AS_FACE)
    Person.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    # Bob's persons and faces count for nobody of Alice's.
    PersonFactory(owner=bob, name="Anna of Bob", faces=5)

    big = FaceGroupFactory(owner=alice, faces=4)
    trash(*FaceFactory.create_batch(3, owner=alice, group=big))  # 4 live: smaller than `five`
    five = FaceGroupFactory(owner=alice, faces=5)
    FaceFactory(owner=alice, group=five, person=anna, state=Face.State.SUGGESTED)  # not unknown
    FaceFactory(owner=alice, group=five, state=Face.State.REJECTED_AS_FACE)
    FaceGroupFactory(owner=alice, faces=4)  # ties with `big`: by id
    trash(*FaceFactory.create_batch(2, owner=alice, group=FaceGroupFactory(owner=alice, faces=0)))  # all trashed
    named = FaceGroupFactory(owner=alice, faces=0)
    FaceFactory(owner=alice, group=named, person=anna, state=Face.State.CONFIRMED)  # no unknown face left
    FaceGroupFactory(owner=alice, faces=6, dismissed=True)
    FaceGroupFactory(owner=bob, faces=9)


def page_counts(lists: selectors.PeopleLists) -> dict[int, tuple[int, int, int]]:
    persons = lists.shown.persons + lists.hidden.persons
    return {p.id: (p.face_count, p.photo_count, p.suggested_count) for p in persons}


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["count", "name"])
@pytest.mark.parametrize("query", ["", "e"])
def test_the_page_counts_are_the_defined_counts(library, alice, order, query):
    defined = defined_counts(alice)

    lists = selectors.people_lists(user=alice, order=order, query=query, hidden_offset=0)

    counts = page_counts(lists)
    assert counts == {pid: defined[pid] for pid in counts}
    matching = {p.id for p in Person.objects.for_user(alice) if selectors.name_matches(p.name, query)}
    assert set(counts) == matching
    if order == "count":
        shown = [p.id for p in lists.shown.persons]
        assert shown == sorted(shown, key=lambda pid: -defined[pid][0])


@pytest.mark.django_db
def test_the_counts_are_the_same_a_page_at_a_time(library, alice):
    defined = defined_counts(alice)
    everyone = page_counts(selectors.people_lists(user=alice, hidden_offset=0))

    paged = {}
    for offset in range(0, 6, 2):
        paged |= page_counts(selectors.people_lists(user=alice, offset=offset, hidden_offset=offset, limit=2))

    assert paged == everyone == {pid: defined[pid] for pid in everyone}
    assert defined[next(p.id for p in Person.objects.filter(name="Anna"))] == (7, 5, 3)


@pytest.mark.django_db
def test_the_group_sizes_are_the_defined_sizes(library, alice):
    groups = selectors.group_list_with_samples(user=alice, limit=20, samples=2)

    assert [(g.id, g.size) for g in groups] == defined_groups(alice)
    assert [g.size for g in groups] == [5, 4, 4]
    assert [(g.id, g.size) for g in selectors.group_list(user=alice)] == defined_groups(alice)


@pytest.mark.django_db
def test_a_cover_face_that_is_not_the_users_is_not_drawn(alice, bob):
    anna = PersonFactory(owner=alice, name="Anna", faces=1)
    Person.objects.filter(pk=anna.pk).update(cover_face=FaceFactory(owner=bob, crop=True))

    (person,) = selectors.people_lists(user=alice).shown.persons

    assert person.cover_face is None
    assert (person.face_count, person.photo_count, person.suggested_count) == (1, 1, 0)
