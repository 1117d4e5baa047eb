"""The simulated user's choices (faces/simulation.py), on hand-made snapshots: no database."""

from __future__ import annotations

import ast
from pathlib import Path

from faces import simulation
from faces.simulation import (
    AUTO,
    CONFIRMED,
    FACE_ASSIGN,
    FACE_CONFIRM,
    FACE_UNASSIGN,
    GROUP_NAME,
    GROUP_NAME_PARTIAL,
    GROUP_QUESTION_CONFIRM,
    PERSON_CONFIRM_SUGGESTIONS,
    SUGGESTED,
    UNKNOWN,
    FaceView,
    Snapshot,
    Tracker,
)

ANNA, BERT = 1, 2
PERSONS = {ANNA: "Anna", BERT: "Bert"}


def face(face_id: int, state: str = UNKNOWN, person: int | None = None, group: int | None = None, **kw) -> FaceView:
    # One photo per face unless told otherwise; size falls with the id so the order is known.
    kw.setdefault("photo_id", 100 + face_id)
    kw.setdefault("size", 200 - face_id)
    return FaceView(face_id, state=state, person_id=person, group_id=group, **kw)


def snap(*faces: FaceView, persons=None, **kw) -> Snapshot:
    return Snapshot(tuple(faces), PERSONS if persons is None else persons, **kw)


def test_the_simulation_is_pure():
    tree = ast.parse(Path(simulation.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "collections.abc", "dataclasses", "fractions"}


# Choosing ------------------------------------------------------------------------------------


def test_an_empty_library_starts_with_a_group_named_by_a_new_name():
    library = snap(face(1, group=7), face(2, group=7), face(3, group=7), face(4), persons={})
    truth = {1: "Anna", 2: "Anna", 3: "Anna", 4: "Bert"}

    action = simulation.next_action(library, truth)

    assert (action.kind, action.group_id, action.name, action.person_id) == (GROUP_NAME, 7, "Anna", None)
    assert (action.gain, action.wrong, action.cost) == (3, 0, 1)


def test_an_existing_person_is_named_by_id_not_by_a_second_name():
    library = snap(face(1, group=7), face(2, group=7))
    action = simulation.next_action(library, {1: "Bert", 2: "Bert"})
    assert (action.kind, action.person_id, action.name) == (GROUP_NAME, BERT, None)


def test_a_stranger_in_a_group_is_left_out_rather_than_named():
    # Naming the whole group would name the bystander (no known identity) too: as good per
    # action spent (taking the name back costs one) but with a wrong name, so it loses.
    library = snap(face(1, group=7), face(2, group=7), face(3, group=7), face(9, group=7))
    truth = {1: "Anna", 2: "Anna", 3: "Anna"}

    action = simulation.next_action(library, truth)

    assert action.kind == GROUP_NAME_PARTIAL
    assert (action.face_ids, action.cost, action.gain, action.wrong) == ((1, 2, 3), 2, 3, 0)


def test_a_mixed_group_is_named_for_its_majority_when_that_is_quickest():
    library = snap(*(face(i, group=7) for i in range(1, 6)), face(6, group=7))
    truth = {1: "Anna", 2: "Anna", 3: "Anna", 4: "Anna", 5: "Anna", 6: "Bert"}

    action = simulation.next_action(library, truth)

    assert (action.kind, action.person_id, action.face_ids) == (GROUP_NAME_PARTIAL, ANNA, (1, 2, 3, 4, 5))
    assert (action.gain, action.cost) == (5, 2)


def test_one_face_at_a_time_beats_a_partial_naming_that_leaves_most_out():
    library = snap(face(1, group=7), *(face(i, group=7) for i in range(2, 6)))
    truth = {1: "Anna", 2: "Bert", 3: "Carl", 4: "Dora", 5: "Emil"}

    action = simulation.next_action(library, truth)

    # Naming the group, or part of it, makes one face right for five actions (four names to
    # take back, or four faces to leave out); naming one face makes one right for one.
    assert (action.kind, action.face_ids, action.person_id) == (FACE_ASSIGN, (1,), ANNA)


def test_a_right_suggestion_is_confirmed_and_a_wrong_one_is_renamed():
    right = snap(face(1, SUGGESTED, ANNA))
    wrong = snap(face(1, SUGGESTED, BERT))
    truth = {1: "Anna"}

    confirm = simulation.next_action(right, truth)
    rename = simulation.next_action(wrong, truth)

    assert (confirm.kind, confirm.face_ids, confirm.person_id) == (FACE_CONFIRM, (1,), ANNA)
    assert (rename.kind, rename.face_ids, rename.person_id) == (FACE_ASSIGN, (1,), ANNA)


def test_an_automatic_name_that_is_right_needs_nothing_and_a_wrong_one_is_renamed():
    assert simulation.next_action(snap(face(1, AUTO, ANNA)), {1: "Anna"}) is None
    action = simulation.next_action(snap(face(1, AUTO, BERT)), {1: "Anna"})
    assert (action.kind, action.person_id) == (FACE_ASSIGN, ANNA)


def test_an_unknown_face_of_a_new_person_gets_a_new_name():
    action = simulation.next_action(snap(face(1)), {1: "Carl"})
    assert (action.kind, action.name, action.person_id) == (FACE_ASSIGN, "Carl", None)


def test_done_when_every_scored_face_is_right_whatever_the_others_are():
    library = snap(face(1, CONFIRMED, ANNA), face(2, AUTO, BERT), face(3, AUTO, ANNA), face(4, group=7))
    assert simulation.remaining(library, {1: "Anna", 2: "Bert"}) == []
    assert simulation.next_action(library, {1: "Anna", 2: "Bert"}) is None


def test_faces_not_right_are_listed():
    library = snap(face(1, CONFIRMED, ANNA), face(2, SUGGESTED, BERT), face(3), face(4, AUTO, ANNA))
    assert simulation.remaining(library, {1: "Anna", 2: "Bert", 3: "Anna", 4: "Bert"}) == [2, 3, 4]


def test_all_suggestions_of_a_person_are_confirmed_in_one_action():
    faces = [face(i, SUGGESTED, ANNA) for i in (1, 2, 3)]
    truth = {1: "Anna", 2: "Anna", 3: "Anna"}

    with_it = simulation.next_action(snap(*faces), truth)

    assert (with_it.kind, with_it.person_id, with_it.gain) == (PERSON_CONFIRM_SUGGESTIONS, ANNA, 3)


def test_confirming_all_suggestions_counts_the_wrong_ones():
    faces = [face(1, SUGGESTED, ANNA), face(2, SUGGESTED, ANNA), face(3, SUGGESTED, ANNA), face(4, SUGGESTED, ANNA)]
    truth = {1: "Anna", 2: "Anna", 3: "Anna", 4: "Bert"}

    action = simulation.next_action(snap(*faces), truth)

    # 3 right for 1 action + 1 to name face 4 right afterwards: better than 3 single confirms.
    assert (action.kind, action.gain, action.wrong, action.rate) == (PERSON_CONFIRM_SUGGESTIONS, 3, 1, 1.5)


def test_a_group_question_is_answered_yes_when_every_face_is_that_person():
    library = snap(face(1, group=7), face(2, group=7), questions={7: ANNA})
    action = simulation.next_action(library, {1: "Anna", 2: "Anna"})
    # As good as typing the name; answering the question comes first.
    assert (action.kind, action.group_id, action.gain) == (GROUP_QUESTION_CONFIRM, 7, 2)


def test_a_group_question_with_a_wrong_face_is_answered_by_naming_part_of_the_group():
    library = snap(face(1, group=7), face(2, group=7), face(3, group=7), face(4, group=7), questions={7: ANNA})
    truth = {1: "Anna", 2: "Anna", 3: "Anna", 4: "Bert"}

    action = simulation.next_action(library, truth)

    assert (action.kind, action.person_id, action.face_ids) == (GROUP_NAME_PARTIAL, ANNA, (1, 2, 3))


def test_a_question_about_a_person_that_is_gone_is_ignored():
    library = snap(face(1, group=7), face(2, group=7), questions={7: 99})
    action = simulation.next_action(library, {1: "Anna", 2: "Anna"})
    assert action.kind == GROUP_NAME


def test_group_naming_skips_rejected_faces_and_a_second_face_of_a_photo():
    library = snap(
        face(1, group=7),
        face(2, group=7),
        face(3, group=7, photo_id=500),
        face(4, CONFIRMED, ANNA, photo_id=500),
        rejections=frozenset({(2, ANNA)}),
    )
    truth = {1: "Anna", 2: "Anna", 3: "Anna", 4: "Anna"}

    action = simulation.next_action(library, truth)

    # Naming the group for Anna would name face 1 only: no better than naming one face.
    assert (action.kind, action.gain, action.rate) == (GROUP_NAME, 1, 1)
    assert max(a.gain for a in simulation.candidates(library, truth)) == 1


def test_two_faces_of_one_photo_in_a_group_make_one_face_right():
    library = snap(face(1, group=7, photo_id=500), face(2, group=7, photo_id=500), face(3, group=7))
    action = simulation.next_action(library, {1: "Anna", 2: "Anna", 3: "Anna"})
    assert (action.kind, action.gain) == (GROUP_NAME, 2)


def test_a_stranger_named_by_the_user_is_taken_back_first():
    library = snap(face(1, CONFIRMED, ANNA), face(2), face(3, group=7), face(4, group=7))
    action = simulation.next_action(library, {2: "Bert", 3: "Bert", 4: "Bert"})
    assert (action.kind, action.face_ids, action.gain) == (FACE_UNASSIGN, (1,), 0)


def test_the_run_is_not_over_while_a_wrong_name_of_the_users_is_left():
    library = snap(face(1, CONFIRMED, ANNA), face(2, CONFIRMED, BERT))
    assert simulation.next_action(library, {2: "Bert"}).kind == FACE_UNASSIGN


def test_an_action_that_changed_nothing_is_not_chosen_again():
    library = snap(face(1, group=7), face(2, group=7), face(3))
    truth = {1: "Anna", 2: "Anna", 3: "Anna"}
    first = simulation.next_action(library, truth)

    second = simulation.next_action(library, truth, exclude={first.key})

    assert first.kind == GROUP_NAME
    assert second.kind == FACE_ASSIGN and second.face_ids == (1,)


def test_the_choice_is_deterministic():
    library = snap(face(3), face(1), face(2))
    truth = {1: "Anna", 2: "Anna", 3: "Anna"}
    assert simulation.next_action(library, truth).face_ids == (1,)


def test_equal_gain_per_action_prefers_the_bigger_step():
    # Group 7: 4 right for 2 actions (one face left out); group 8: 2 right for 1.
    library = snap(
        *(face(i, group=7) for i in (1, 2, 3, 4, 5)),
        face(6, group=8),
        face(7, group=8),
    )
    truth = {1: "Anna", 2: "Anna", 3: "Anna", 4: "Anna", 5: "Bert", 6: "Carl", 7: "Carl"}
    action = simulation.next_action(library, truth)
    assert (action.kind, action.group_id, action.gain) == (GROUP_NAME_PARTIAL, 7, 4)


# Tracking ------------------------------------------------------------------------------------


def test_suggestions_are_counted_once_per_face_and_person():
    tracker = Tracker({1: "Anna", 2: "Anna", 3: "Bert"})
    tracker.observe(snap(face(1, SUGGESTED, ANNA), face(2, SUGGESTED, BERT), face(3)))
    tracker.observe(snap(face(1, SUGGESTED, ANNA), face(2, SUGGESTED, ANNA), face(3, SUGGESTED, BERT)))

    assert tracker.suggestions == {(1, ANNA): True, (2, BERT): False, (2, ANNA): True, (3, BERT): True}
    assert tracker.suggestion_precision() == 0.75


def test_a_group_question_counts_once_per_scored_face_of_the_group():
    tracker = Tracker({1: "Anna", 2: "Anna", 3: "Bert"})
    tracker.observe(snap(face(1, group=7), face(2, group=7), face(3, group=7), face(9, group=7), questions={7: ANNA}))
    assert tracker.suggestions == {(1, ANNA): True, (2, ANNA): True, (3, ANNA): False}
    assert tracker.suggestion_precision() == round(2 / 3, 4)


def test_precision_without_suggestions():
    assert Tracker({1: "Anna"}).suggestion_precision() == 1.0


def test_wrong_automatic_names_are_remembered_even_when_they_go_away():
    tracker = Tracker({1: "Anna", 2: "Bert"})
    tracker.observe(snap(face(1, AUTO, BERT), face(2, AUTO, BERT), face(3, AUTO, ANNA)))
    tracker.observe(snap(face(1, AUTO, ANNA), face(2, AUTO, BERT)))
    assert tracker.wrong_auto == {1: "Bert"}
