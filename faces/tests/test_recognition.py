"""Recognition through the services: naming a few faces names the rest, corrections stick."""

from __future__ import annotations

import pytest
from django.conf import settings

from faces import index as face_index
from faces import index_cache, recognition, services
from faces.matching import Candidate, decide_photo
from faces.models import Face, FaceRejection, RecognitionIndex
from faces.recognition_model import MatchPolicy
from faces.tests.people import Library, name_person
from smartgallery.tests.factories import FaceFactory, PhotoFactory, detection_fields

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

PEOPLE = ["Ariel_Sharon", "Colin_Powell", "George_W_Bush", "Tony_Blair"]


@pytest.fixture
def library(alice, detections, model):
    return Library(alice, detections, model.model_id, PEOPLE, per_identity=6)


def test_naming_three_faces_names_the_rest_of_that_person(alice, library, model):
    persons = {identity: name_person(library, alice, identity, 3) for identity in PEOPLE}

    recognition.people_refresh(alice.id, model)

    for identity in PEOPLE:
        rest = library.states(identity)[3:]
        assert all(person == persons[identity] for _, person in rest), (identity, rest)
        assert all(state in (Face.State.AUTO, Face.State.SUGGESTED) for state, _ in rest), (identity, rest)
        assert sum(state == Face.State.AUTO for state, _ in rest) >= 2, (identity, rest)


def test_unnamed_people_stay_unknown(alice, library, model):
    name_person(library, alice, "Ariel_Sharon", 3)

    recognition.people_refresh(alice.id, model)

    for identity in ("Colin_Powell", "George_W_Bush", "Tony_Blair"):
        assert {state for state, _ in library.states(identity)} <= {Face.State.UNKNOWN, Face.State.SUGGESTED}
        assert Face.State.AUTO not in {state for state, _ in library.states(identity)}


def test_a_correction_flips_the_other_faces_within_one_rebuild(alice, library, model):
    # Name Tony Blair's faces as "Colin" by mistake, then correct them.
    wrong = name_person(library, alice, "Tony_Blair", 3)
    recognition.people_refresh(alice.id, model)
    assert {person for _, person in library.states("Tony_Blair")[3:]} == {wrong}

    tony = services.face_assign(user=alice, face_id=library.faces["Tony_Blair"][0].id, name="Tony").person_created
    for face in library.faces["Tony_Blair"][1:3]:
        services.face_assign(user=alice, face_id=face.id, person_id=tony)
    recognition.people_refresh(alice.id, model)

    assert {person for _, person in library.states("Tony_Blair")[3:]} == {tony}


def test_a_rejected_pair_never_comes_back_after_reindex(alice, library, model):
    ariel = name_person(library, alice, "Ariel_Sharon", 3)
    recognition.people_refresh(alice.id, model)
    target = library.faces["Ariel_Sharon"][4]
    target.refresh_from_db()
    assert target.person_id == ariel

    services.face_not_this_person(user=alice, face_id=target.id)
    for _ in range(2):
        recognition.people_refresh(alice.id, model)
        RecognitionIndex.objects.filter(owner=alice).update(labels_version=999)

    target.refresh_from_db()
    assert target.person_id != ariel and target.state == Face.State.UNKNOWN
    assert FaceRejection.objects.filter(face=target, person_id=ariel).exists()


def test_confirmed_and_not_a_face_faces_survive_every_job(alice, library, model):
    # A user confirmation the model disagrees with: Colin's face confirmed as Ariel.
    ariel = name_person(library, alice, "Ariel_Sharon", 3)
    odd = library.faces["Colin_Powell"][0]
    services.face_assign(user=alice, face_id=odd.id, person_id=ariel)
    not_face = library.faces["Colin_Powell"][1]
    services.face_mark_not_a_face(user=alice, face_id=not_face.id)

    recognition.people_refresh(alice.id, model)
    recognition.people_refresh(alice.id, model)
    recognition.recognise_photo(photo=odd.photo)

    odd.refresh_from_db()
    not_face.refresh_from_db()
    assert (odd.state, odd.person_id) == (Face.State.CONFIRMED, ariel)
    assert (not_face.state, not_face.person_id) == (Face.State.REJECTED_AS_FACE, None)


def test_two_faces_of_one_photo_never_get_the_same_person(alice, detections, model, library):
    ariel = name_person(library, alice, "Ariel_Sharon", 3)
    # Two faces of Ariel pasted into one photo: only one may be Ariel.
    photo = PhotoFactory(owner=alice, original_filename="together.jpg")
    first = FaceFactory(
        owner=alice, photo=photo, model_id=model.model_id, embedding=library.faces["Ariel_Sharon"][4].embedding
    )
    second = FaceFactory(
        owner=alice, photo=photo, model_id=model.model_id, embedding=library.faces["Ariel_Sharon"][5].embedding
    )

    recognition.recognise_photo(photo=photo)

    first.refresh_from_db()
    second.refresh_from_db()
    assert [first.person_id, second.person_id].count(ariel) == 1


def test_a_photo_with_a_confirmed_person_leaves_that_person_to_it(alice, library, model):
    ariel = name_person(library, alice, "Ariel_Sharon", 3)
    photo = library.faces["Ariel_Sharon"][0].photo
    twin = FaceFactory(
        owner=alice, photo=photo, model_id=model.model_id, embedding=library.faces["Ariel_Sharon"][4].embedding
    )

    recognition.recognise_photo(photo=photo)

    twin.refresh_from_db()
    assert twin.person_id != ariel


def test_decide_photo_gives_the_loser_its_next_candidate_as_a_suggestion():
    policy = MatchPolicy(auto_assign=0.5, suggest=0.25, margin=0.05)
    decisions = decide_photo(
        {1: [Candidate(10, 0.9), Candidate(20, 0.6)], 2: [Candidate(10, 0.8), Candidate(20, 0.7)]},
        policy=policy,
    )
    assert (decisions[1].state, decisions[1].person_id) == (Face.State.AUTO, 10)
    assert (decisions[2].state, decisions[2].person_id) == (Face.State.SUGGESTED, 20)


def test_decide_photo_wants_a_margin_for_auto():
    policy = MatchPolicy(auto_assign=0.5, suggest=0.25, margin=0.05)
    decisions = decide_photo({1: [Candidate(10, 0.70), Candidate(20, 0.68)]}, policy=policy)
    assert (decisions[1].state, decisions[1].person_id) == (Face.State.SUGGESTED, 10)
    decisions = decide_photo({1: [Candidate(10, 0.2)]}, policy=policy)
    assert decisions[1].state == Face.State.UNKNOWN


def test_the_same_real_person_in_two_accounts_stays_separate(alice, bob, detections, model):
    alices = Library(alice, detections, model.model_id, ["Ariel_Sharon"], per_identity=6)
    bobs = Library(bob, detections, model.model_id, ["Ariel_Sharon"], per_identity=6)
    name_person(alices, alice, "Ariel_Sharon", 3)

    recognition.people_refresh(alice.id, model)
    recognition.people_refresh(bob.id, model)
    for face in bobs.faces["Ariel_Sharon"]:
        recognition.recognise_photo(photo=face.photo)

    assert {state for state, _ in bobs.states("Ariel_Sharon")} == {Face.State.UNKNOWN}
    assert not Face.objects.filter(owner=bob, person__owner=alice).exists()
    bobs_index = index_cache.get_index(bob.id, model)
    assert bobs_index.ntotal == 0
    name_person(bobs, bob, "Ariel_Sharon", 2)
    bobs_index = index_cache.get_index(bob.id, model)
    assert set(bobs_index.face_ids.tolist()) <= set(Face.objects.filter(owner=bob).values_list("id", flat=True))
    assert bobs_index.ntotal == 2


def test_new_photo_is_recognised_by_the_pipeline_entry_point(alice, library, model, detections):
    ariel = name_person(library, alice, "Ariel_Sharon", 3)
    photo = PhotoFactory(owner=alice, original_filename="new.jpg")
    from faces.calibration import largest_face

    detected = largest_face(detections["Ariel_Sharon/Ariel_Sharon_0010.jpg"])
    face = FaceFactory(owner=alice, photo=photo, model_id=model.model_id, **detection_fields(detected))

    recognition.recognise_photo(photo=photo)

    face.refresh_from_db()
    assert face.person_id == ariel and face.state in (Face.State.AUTO, Face.State.SUGGESTED)
    assert face.similarity is not None and face.margin is not None


def test_faces_of_another_model_are_left_alone(alice, library, model):
    name_person(library, alice, "Ariel_Sharon", 3)
    old = library.faces["Ariel_Sharon"][4]
    Face.objects.filter(pk=old.pk).update(model_id="another:model")

    recognition.people_refresh(alice.id, model)

    old.refresh_from_db()
    assert old.state == Face.State.UNKNOWN
    assert old.id not in index_cache.get_index(alice.id, model).face_ids


def test_index_holds_exactly_the_reference_faces(alice, library, model):
    name_person(library, alice, "Ariel_Sharon", 3)
    name_person(library, alice, "Tony_Blair", 2)

    built = index_cache.get_index(alice.id, model)

    confirmed = set(Face.objects.filter(owner=alice, state=Face.State.CONFIRMED).values_list("id", flat=True))
    assert set(built.face_ids.tolist()) == confirmed
    record = RecognitionIndex.objects.get(owner=alice)
    assert record.size == built.ntotal == 5
    assert record.built_version == record.labels_version
    assert face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, alice.id).exists()
