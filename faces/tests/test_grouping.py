"""Unnamed groups: unknown faces of one person form a group that is named in one action."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from faces import grouping, recognition, services
from faces.models import Face, FaceGroup
from faces.tests.people import Library

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

PEOPLE = ["Ariel_Sharon", "Colin_Powell", "Tony_Blair"]


@pytest.fixture
def library(alice, detections, model):
    return Library(alice, detections, model.model_id, PEOPLE, per_identity=8)


def _groups_of(library, identity):
    library.refresh()
    return Counter(f.group_id for f in library.faces[identity])


def _unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _people(rng, count, per, *, noise, dim=128):
    centres = _unit(rng.normal(size=(count, dim)))
    vectors = [c + noise * rng.normal(size=dim) / np.sqrt(dim) for c in centres for _ in range(per)]
    return _unit(vectors), np.repeat(np.arange(count), per)


def test_average_linkage_keeps_one_person_per_group_among_many_strangers():
    rng = np.random.default_rng(0)
    vectors, truth = _people(rng, 300, 4, noise=0.9)
    labels = grouping.average_linkage(vectors, list(range(len(vectors))), threshold=0.35)
    sizes = Counter(labels.tolist())
    grouped = [label for label, size in sizes.items() if size >= grouping.MIN_GROUP_SIZE]
    mixed = [label for label in grouped if len(set(truth[labels == label].tolist())) > 1]
    assert len(grouped) >= 250 and not mixed


def test_a_chain_of_look_alikes_does_not_join_two_people():
    # a0 ~ a1 ~ ... ~ b0: each step is close, but the two ends are strangers. Single-link
    # chaining joins them all; average linkage keeps the two ends apart.
    angles = np.linspace(0, np.pi / 2, 7)
    vectors = _unit([[np.cos(a), np.sin(a), 0.0] for a in angles])
    labels = grouping.average_linkage(vectors, list(range(7)), threshold=0.93)
    assert labels[0] != labels[-1]


def test_two_faces_of_one_photo_are_never_one_group():
    vectors = _unit([[1, 0.01, 0], [1, 0, 0.01], [1, 0.02, 0.02]])
    labels = grouping.average_linkage(vectors, [7, 7, 8], threshold=0.5)
    assert labels[0] != labels[1]


def test_a_new_face_joins_the_group_it_looks_like_on_average():
    sums = np.array([[3.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    scores = grouping.join_scores(np.array([0.0, 1.0], dtype=np.float32), sums, np.array([3, 2]))
    assert scores.tolist() == [0.0, 1.0]


def test_unknown_faces_of_one_person_form_one_group_each(alice, library, model):
    recognition.people_refresh(alice.id, model)

    group_ids = set()
    for identity in PEOPLE:
        groups = _groups_of(library, identity)
        group_id, size = groups.most_common(1)[0]
        assert group_id is not None and size >= 6, (identity, groups)
        group_ids.add(group_id)
    assert len(group_ids) == len(PEOPLE)  # never two people in one group


def test_a_group_is_named_in_one_action(alice, library, model):
    recognition.people_refresh(alice.id, model)
    group_id = _groups_of(library, "Tony_Blair").most_common(1)[0][0]
    size = Face.objects.filter(group_id=group_id).count()

    change = services.group_name(user=alice, group_id=group_id, name="Tony")

    tony = change.person_created
    assert Face.objects.filter(person_id=tony, state=Face.State.CONFIRMED).count() == size
    assert not Face.objects.filter(group_id=group_id).exists()
    recognition.people_refresh(alice.id, model)
    assert all(person == tony for _, person in library.states("Tony_Blair"))


def test_a_group_can_be_named_in_part(alice, library, model):
    recognition.people_refresh(alice.id, model)
    group_id = _groups_of(library, "Colin_Powell").most_common(1)[0][0]
    picked = list(Face.objects.filter(group_id=group_id).values_list("id", flat=True)[:2])

    change = services.group_name_partial(user=alice, group_id=group_id, face_ids=picked, name="Colin")

    assert sorted(Face.objects.filter(person_id=change.person_created).values_list("id", flat=True)) == sorted(picked)
    assert Face.objects.filter(group_id=group_id, state=Face.State.UNKNOWN).exists()


def test_a_dismissed_group_does_not_come_back(alice, library, model):
    recognition.people_refresh(alice.id, model)
    group_id = _groups_of(library, "Ariel_Sharon").most_common(1)[0][0]
    members = set(Face.objects.filter(group_id=group_id).values_list("id", flat=True))

    services.group_dismiss(user=alice, group_id=group_id)
    recognition.people_refresh(alice.id, model)

    assert set(Face.objects.filter(group_id=group_id).values_list("id", flat=True)) == members
    regrouped = Face.objects.filter(pk__in=members).exclude(group_id=group_id)
    assert not regrouped.exists()
    assert FaceGroup.objects.get(pk=group_id).dismissed


def test_regrouping_keeps_group_ids_and_new_faces_join(alice, detections, library, model):
    recognition.people_refresh(alice.id, model)
    group_id = _groups_of(library, "Tony_Blair").most_common(1)[0][0]

    more = Library(alice, detections, model.model_id, ["Tony_Blair"], per_identity=10)
    for face in more.faces["Tony_Blair"][8:]:
        recognition.recognise_photo(photo=face.photo)
    recognition.people_refresh(alice.id, model)

    assert _groups_of(library, "Tony_Blair").most_common(1)[0][0] == group_id
    assert _groups_of(more, "Tony_Blair").most_common(1)[0][0] == group_id


def test_named_faces_leave_their_group(alice, library, model):
    recognition.people_refresh(alice.id, model)
    face = library.faces["Tony_Blair"][0]
    face.refresh_from_db()
    assert face.group_id

    services.face_assign(user=alice, face_id=face.id, name="Tony")

    face.refresh_from_db()
    assert face.group_id is None


def test_groups_never_mix_users(alice, bob, detections, library, model):
    Library(bob, detections, model.model_id, ["Tony_Blair"], per_identity=8)
    recognition.people_refresh(alice.id, model)
    recognition.people_refresh(bob.id, model)
    for group in FaceGroup.objects.all():
        assert set(group.faces.values_list("owner_id", flat=True)) == {group.owner_id}
