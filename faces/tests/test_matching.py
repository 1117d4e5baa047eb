"""What recognition decides, on hand-made candidates (pure: faces/matching.py)."""

from __future__ import annotations

import numpy as np

from faces.matching import AUTO, SUGGESTED, UNKNOWN, Candidate, FaceInput, group_question, plan_library
from faces.recognition_model import MatchPolicy

# Lines in the band [0.25, 0.5]: group 0.35, group question 0.3625, single question 0.3375.
POLICY = MatchPolicy(auto_assign=0.5, suggest=0.25, margin=0.05)


def _unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_group_is_asked_about_the_person_most_of_its_faces_look_like():
    candidates = {
        1: [Candidate(10, 0.45)],
        2: [Candidate(10, 0.44), Candidate(20, 0.43)],
        3: [Candidate(20, 0.49)],
    }
    assert group_question([1, 2, 3], candidates, policy=POLICY) == Candidate(10, 0.44)


def test_one_strong_look_alike_does_not_make_a_group_a_question():
    candidates = {1: [Candidate(10, 0.49)], 2: [], 3: [Candidate(10, 0.30)]}
    assert group_question([1, 2, 3], candidates, policy=POLICY) is None


def test_grouped_faces_are_not_asked_about_one_by_one():
    # Three faces of one unnamed person; one of them weakly resembles person 10.
    vectors = _unit([[1, 0.05, 0], [1, 0, 0.05], [1, 0.05, 0.05], [0, 0, 1]])
    faces = [
        FaceInput(1, 101, [Candidate(10, 0.30)]),
        FaceInput(2, 102, []),
        FaceInput(3, 103, []),
        FaceInput(4, 104, [Candidate(10, 0.36)]),  # alone: a single suggestion is all there is
    ]
    plan = plan_library(faces, vectors, policy=POLICY, taken_by_photo={})
    assert len(plan.groups) == 1 and sorted(plan.groups[0].face_ids) == [1, 2, 3]
    assert plan.groups[0].question is None
    assert plan.decisions[1].state == UNKNOWN
    assert (plan.decisions[4].state, plan.decisions[4].person_id) == (SUGGESTED, 10)


def test_automatic_names_are_not_grouped_and_groups_keep_their_ids():
    vectors = _unit([[1, 0.05, 0], [1, 0, 0.05], [1, 0.05, 0.05]])
    faces = [
        FaceInput(1, 101, [Candidate(10, 0.9)], group_id=None),
        FaceInput(2, 102, [], group_id=55),
        FaceInput(3, 103, [], group_id=55),
    ]
    plan = plan_library(faces, vectors, policy=POLICY, taken_by_photo={})
    assert plan.decisions[1].state == AUTO
    assert [(g.group_id, sorted(g.face_ids)) for g in plan.groups] == [(55, [2, 3])]


def test_dismissed_faces_are_matched_but_never_regrouped():
    vectors = _unit([[1, 0.05, 0], [1, 0, 0.05]])
    faces = [FaceInput(1, 101, [], group_id=9, fixed_group=True), FaceInput(2, 102, [])]
    plan = plan_library(faces, vectors, policy=POLICY, taken_by_photo={})
    assert plan.groups == []
