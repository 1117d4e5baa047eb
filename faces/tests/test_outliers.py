"""Faces that may not belong to a person: the leave-one-out score (pure), the ranking selector on
real faces of the shared photos, and the two bulk services the page calls (move, "not X")."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from faces import outliers, recognition, selectors, services
from faces.models import Face, FaceRejection, Person, RecognitionIndex
from faces.tests.people import Library, name_person
from smartgallery.tests.factories import FaceFactory, PersonFactory, unit_vectors

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

PEOPLE = ["Colin_Powell", "Tony_Blair", "Ariel_Sharon"]


# The score (pure) ----------------------------------------------------------------------------


def test_a_confirmed_face_is_not_compared_with_itself():
    vectors = unit_vectors(4, dim=8, seed=1)
    vectors[1] = vectors[0]  # two copies of one face
    scores = outliers.leave_one_out_scores(vectors, np.array([True, False, True, True]), top_k=1)
    others = vectors[[2, 3]] @ vectors[0]
    assert scores[0] == pytest.approx(others.max(), abs=1e-6)  # not 1.0: itself is left out
    assert scores[1] == pytest.approx(1.0, abs=1e-6)  # an automatic copy is compared with row 0


def test_the_score_is_the_mean_of_the_best_k_and_all_with_k_zero():
    vectors = unit_vectors(6, dim=8, seed=2)
    references = np.array([True, True, True, True, True, False])
    sims = vectors[[0, 1, 2, 3, 4]] @ vectors[5]
    best3 = np.sort(sims)[::-1][:3].mean()
    assert outliers.leave_one_out_scores(vectors, references, top_k=3)[5] == pytest.approx(best3, abs=1e-6)
    assert outliers.leave_one_out_scores(vectors, references, top_k=0)[5] == pytest.approx(sims.mean(), abs=1e-6)
    # Fewer other references than k: the mean of those there are.
    own = vectors[[1, 2, 3, 4]] @ vectors[0]
    assert outliers.leave_one_out_scores(vectors, references, top_k=9)[0] == pytest.approx(own.mean(), abs=1e-6)


def test_by_default_the_best_three_or_a_tenth_of_the_references_whichever_is_more():
    vectors = unit_vectors(61, dim=8, seed=5)
    references = np.ones(61, dtype=bool)
    assert outliers.leave_one_out_scores(vectors[:20], references[:20])[0] == pytest.approx(
        outliers.leave_one_out_scores(vectors[:20], references[:20], top_k=3)[0]
    )
    many = outliers.leave_one_out_scores(vectors, references)  # 61 references: the best 7
    np.testing.assert_allclose(many, outliers.leave_one_out_scores(vectors, references, top_k=7))


def test_a_sister_confirmed_many_times_cannot_vouch_for_herself():
    """15 faces of someone else confirmed among 300 of hers: more than any fixed few, so each
    wrong face's best few are other wrong faces; a tenth of her faces are not."""
    rng = np.random.default_rng(6)
    anna, sister = rng.normal(size=64), rng.normal(size=64)
    vectors = np.vstack([anna + rng.normal(scale=0.12, size=(300, 64)), sister + rng.normal(scale=0.12, size=(15, 64))])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    references = np.ones(len(vectors), dtype=bool)
    ids = np.arange(len(vectors))
    first = outliers.ranking(outliers.leave_one_out_scores(vectors, references), ids)[:15]
    assert set(first.tolist()) == set(range(300, 315))
    fixed = outliers.ranking(outliers.leave_one_out_scores(vectors, references, top_k=3), ids)[:15]
    assert set(fixed.tolist()) != set(range(300, 315))  # what a fixed three would miss


def test_a_person_with_very_many_confirmed_faces_is_compared_with_a_spread_sample(monkeypatch):
    vectors = unit_vectors(40, dim=8, seed=7)
    references = np.ones(40, dtype=bool)
    monkeypatch.setattr(outliers, "MAX_REFERENCES", 10)
    sampled = outliers.leave_one_out_scores(vectors, references, top_k=0)
    rows = np.linspace(0, 39, 10).round().astype(int)
    others = np.setdiff1d(rows, [1])
    assert sampled[1] == pytest.approx((vectors[others] @ vectors[1]).mean(), abs=1e-6)  # not in the sample
    assert sampled[0] == pytest.approx((vectors[rows[1:]] @ vectors[0]).mean(), abs=1e-6)  # in it: not itself


def test_a_face_with_nothing_to_compare_with_has_no_score():
    vectors = unit_vectors(3, dim=8, seed=3)
    scores = outliers.leave_one_out_scores(vectors, np.array([True, False, False]))
    assert np.isnan(scores[0]) and not np.isnan(scores[1])
    assert np.isnan(outliers.leave_one_out_scores(vectors, np.zeros(3, dtype=bool))).all()


def test_chunks_give_the_same_scores(monkeypatch):
    vectors = unit_vectors(50, dim=8, seed=4)
    references = np.arange(50) % 3 != 0
    whole = outliers.leave_one_out_scores(vectors, references)
    monkeypatch.setattr(outliers, "CHUNK", 7)
    np.testing.assert_allclose(outliers.leave_one_out_scores(vectors, references), whole, rtol=1e-6)


def test_ranking_lowest_first_ties_by_id_and_unscored_last():
    scores = np.array([0.5, np.nan, 0.2, 0.5, 0.1])
    ids = np.array([40, 10, 30, 20, 50])
    assert ids[outliers.ranking(scores, ids)].tolist() == [50, 30, 20, 40, 10]


# The ranking on real faces ---------------------------------------------------------------------


@pytest.fixture
def library(alice, detections, model):
    return Library(alice, detections, model.model_id, PEOPLE, per_identity=8)


@pytest.fixture
def poisoned(alice, library):
    """Colin with 6 confirmed faces of his and, by mistake, one of Tony's confirmed too."""
    colin = name_person(library, alice, "Colin_Powell", 6)
    wrong = library.faces["Tony_Blair"][0]
    services.face_assign(user=alice, face_id=wrong.id, person_id=colin)
    return colin, wrong


def test_a_wrongly_confirmed_face_comes_first(alice, poisoned):
    colin, wrong = poisoned
    ranked, scores, references, not_compared = selectors.person_outlier_ranking(user=alice, person_id=colin)
    assert ranked[0] == wrong.id
    assert (references, not_compared, len(ranked)) == (7, 0, 7)
    assert scores[wrong.id] < min(scores[i] for i in ranked[1:])


def test_automatic_faces_are_ranked_with_the_confirmed_ones(alice, library, poisoned, model):
    colin, wrong = poisoned
    # Tony's first face, confirmed as Colin, pulls another Tony face in automatically (what a
    # poisoned person does). The list must show it near the top too.
    follower = library.faces["Tony_Blair"][1]
    Face.objects.filter(pk=follower.pk).update(person_id=colin, state=Face.State.AUTO, similarity=0.5)
    ranked, scores, references, _ = selectors.person_outlier_ranking(user=alice, person_id=colin)
    assert set(ranked[:2]) == {wrong.id, follower.id}
    assert references == 7 and len(ranked) == 8


def test_the_page_has_the_faces_in_order_with_their_scores(alice, poisoned, django_assert_num_queries):
    colin, wrong = poisoned
    ranked, scores, _, _ = selectors.person_outlier_ranking(user=alice, person_id=colin)
    with django_assert_num_queries(3):
        page = selectors.person_outliers(user=alice, person_id=colin, limit=4)
        assert [f.photo.id for f in page.faces]  # the photos come with the faces
    assert [f.id for f in page.faces] == ranked[:4]
    assert page.faces[0].likeness == scores[wrong.id]
    assert (page.total, page.references, page.next_offset) == (7, 7, 4)
    rest = selectors.person_outliers(user=alice, person_id=colin, offset=4, limit=4)
    assert [f.id for f in rest.faces] == ranked[4:] and rest.next_offset is None


def test_only_her_named_live_faces_of_one_model_are_listed(alice, library, poisoned):
    colin, wrong = poisoned
    suggested = library.faces["Ariel_Sharon"][0]
    Face.objects.filter(pk=suggested.pk).update(person_id=colin, state=Face.State.SUGGESTED)
    trashed = library.faces["Colin_Powell"][6]
    Face.objects.filter(pk=trashed.pk).update(person_id=colin, state=Face.State.CONFIRMED)
    trashed.photo.deleted_at = timezone.now()
    trashed.photo.save(update_fields=["deleted_at"])
    other_model = FaceFactory(owner=alice, person=Person.objects.get(pk=colin), model_id="older-model")
    ranked, _, references, not_compared = selectors.person_outlier_ranking(user=alice, person_id=colin)
    assert suggested.id not in ranked and trashed.id not in ranked and other_model.id not in ranked
    assert (len(ranked), references, not_compared) == (7, 7, 1)


def test_another_users_person_is_not_found(bob, poisoned):
    colin, _ = poisoned
    with pytest.raises(Person.DoesNotExist):
        selectors.person_outlier_ranking(user=bob, person_id=colin)
    with pytest.raises(Person.DoesNotExist):
        selectors.person_outliers(user=bob, person_id=colin)


def test_ranking_changes_nothing_and_the_jobs_keep_the_confirmed_face(alice, poisoned, model):
    colin, wrong = poisoned
    before = list(Face.objects.filter(owner=alice).order_by("id").values())
    selectors.person_outliers(user=alice, person_id=colin)
    assert list(Face.objects.filter(owner=alice).order_by("id").values()) == before
    # It only asks: the re-match leaves the wrong confirmation where the user put it.
    recognition.people_refresh(alice.id, model)
    wrong.refresh_from_db()
    assert (wrong.state, wrong.person_id) == (Face.State.CONFIRMED, colin)


def test_a_person_with_only_one_confirmed_face(alice, library):
    colin = name_person(library, alice, "Colin_Powell", 1)
    auto = library.faces["Colin_Powell"][1]
    Face.objects.filter(pk=auto.pk).update(person_id=colin, state=Face.State.AUTO)
    ranked, scores, references, _ = selectors.person_outlier_ranking(user=alice, person_id=colin)
    first = library.faces["Colin_Powell"][0].id
    assert ranked == [auto.id, first] and references == 1
    assert scores[first] is None and scores[auto.id] is not None


# Moving a selection, and "not X" ----------------------------------------------------------------


def _labels_version(user):
    return RecognitionIndex.objects.get(owner=user).labels_version


def test_move_names_the_picked_faces_and_undo_puts_them_back(alice, poisoned):
    colin, wrong = poisoned
    before = {f.id: (f.state, f.person_id) for f in Face.objects.filter(owner=alice)}
    version = _labels_version(alice)
    change = services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id], name="Tony Blair")
    tony = Person.objects.get(owner=alice, name="Tony Blair")
    wrong.refresh_from_db()
    assert (wrong.state, wrong.person_id) == (Face.State.CONFIRMED, tony.id)
    assert change.person_created == tony.id and change.named_person_name == "Tony Blair"
    assert not FaceRejection.objects.filter(face=wrong).exists()  # moving is not "not Colin"
    assert tony.cover_face_id == wrong.id
    assert _labels_version(alice) > version
    services.labels_undo(user=alice, change=change.as_dict())
    assert {f.id: (f.state, f.person_id) for f in Face.objects.filter(owner=alice)} == before
    assert not Person.objects.filter(pk=tony.id).exists()


def test_move_to_an_existing_person_lifts_her_rejection_and_frees_photo_mates(alice, library, poisoned):
    colin, wrong = poisoned
    tony = services.person_create(user=alice, name="Tony")
    FaceRejection.objects.create(owner=alice, face=wrong, person=tony)
    mate = FaceFactory(owner=alice, photo=wrong.photo, person=tony, state=Face.State.AUTO)
    change = services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id], to_person_id=tony.id)
    wrong.refresh_from_db()
    mate.refresh_from_db()
    assert (wrong.state, wrong.person_id) == (Face.State.CONFIRMED, tony.id)
    assert not FaceRejection.objects.filter(face=wrong, person=tony).exists()
    assert (mate.state, mate.person_id) == (Face.State.UNKNOWN, None)
    services.labels_undo(user=alice, change=change.as_dict())
    assert FaceRejection.objects.filter(face=wrong, person=tony).exists()
    mate.refresh_from_db()
    assert (mate.state, mate.person_id) == (Face.State.AUTO, tony.id)


def test_move_leaves_faces_that_are_no_longer_hers_and_says_so(alice, library, poisoned):
    colin, wrong = poisoned
    renamed = library.faces["Colin_Powell"][5]
    services.face_assign(user=alice, face_id=renamed.id, name="Someone else")
    change = services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id, renamed.id], name="Tony Blair")
    assert change.skipped_face_ids == [renamed.id]
    renamed.refresh_from_db()
    assert renamed.person.name == "Someone else"
    with pytest.raises(ValidationError, match="no longer"):
        services.person_faces_move(user=alice, person_id=colin, face_ids=[renamed.id], name="Tony Blair")


def test_move_refuses_the_same_person_and_an_empty_selection(alice, poisoned):
    colin, wrong = poisoned
    for call in (
        lambda: services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id], to_person_id=colin),
        lambda: services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id], name="colin_powell"),
        lambda: services.person_faces_move(user=alice, person_id=colin, face_ids=[], name="Tony"),
        lambda: services.person_faces_reject(user=alice, person_id=colin, face_ids=[]),
    ):
        with pytest.raises(ValidationError):
            call()
    wrong.refresh_from_db()
    assert wrong.person_id == colin


def test_move_to_a_person_deleted_meanwhile_says_so(alice, poisoned):
    colin, wrong = poisoned
    gone = services.person_create(user=alice, name="Tony")
    services.person_delete(user=alice, person_id=gone.id)
    with pytest.raises(ValidationError, match="deleted or merged"):
        services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id], to_person_id=gone.id)


def test_a_request_with_a_foreign_face_or_person_changes_nothing(alice, bob, poisoned):
    colin, wrong = poisoned
    bobs_face = FaceFactory(owner=bob, person=PersonFactory(owner=bob, name="Bert", faces=0))
    bobs_person = bobs_face.person
    rows = lambda: [list(m.objects.order_by("id").values()) for m in (Face, Person, FaceRejection)]  # noqa: E731
    before = rows()
    calls = [
        lambda: services.person_faces_move(user=alice, person_id=colin, face_ids=[wrong.id, bobs_face.id], name="T"),
        lambda: services.person_faces_move(
            user=alice, person_id=colin, face_ids=[wrong.id], to_person_id=bobs_person.id
        ),
        lambda: services.person_faces_move(user=bob, person_id=colin, face_ids=[wrong.id], to_person_id=bobs_person.id),
        lambda: services.person_faces_move(user=bob, person_id=bobs_person.id, face_ids=[wrong.id], name="T"),
        lambda: services.person_faces_reject(user=alice, person_id=colin, face_ids=[wrong.id, bobs_face.id]),
        lambda: services.person_faces_reject(user=bob, person_id=colin, face_ids=[wrong.id]),
        lambda: services.person_faces_reject(user=bob, person_id=bobs_person.id, face_ids=[wrong.id]),
    ]
    for call in calls:
        with pytest.raises((Face.DoesNotExist, Person.DoesNotExist)):
            call()
    assert rows() == before


def test_not_her_is_remembered_and_the_rematch_does_not_bring_it_back(alice, library, poisoned, model):
    colin, wrong = poisoned
    recognition.people_refresh(alice.id, model)  # the poisoned index may have named more Tony faces Colin
    followers = list(
        Face.objects.filter(
            owner=alice, person_id=colin, state=Face.State.AUTO, pk__in=[f.id for f in library.faces["Tony_Blair"]]
        )
    )
    picked = [wrong.id, *(f.id for f in followers)]
    change = services.person_faces_reject(user=alice, person_id=colin, face_ids=picked)
    assert sorted(change.rejections_added) == sorted((i, colin) for i in picked)
    recognition.people_refresh(alice.id, model)
    for face in Face.objects.filter(pk__in=picked):
        assert face.person_id != colin and face.state != Face.State.CONFIRMED
    services.labels_undo(user=alice, change=change.as_dict())
    wrong.refresh_from_db()
    assert (wrong.state, wrong.person_id) == (Face.State.CONFIRMED, colin)
    assert not FaceRejection.objects.filter(face_id__in=picked, person_id=colin).exists()


def test_not_her_for_her_cover_picks_another_cover(alice, library):
    colin = name_person(library, alice, "Colin_Powell", 3)
    cover = Person.objects.get(pk=colin).cover_face_id
    services.person_faces_reject(user=alice, person_id=colin, face_ids=[cover])
    assert Person.objects.get(pk=colin).cover_face_id not in (cover, None)
