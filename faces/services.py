"""Label-changing services of the people work: the only code that writes faces and persons
on a user's behalf. Views, admin actions, management commands and tasks call these.

Rules every service follows:
- keyword-only, `<noun>_<verb>`, one transaction;
- every id is loaded through an owner-scoped queryset (`for_user`), both sides of every
  relation included, so another user's id raises `Face.DoesNotExist` /
  `Person.DoesNotExist` / `FaceGroup.DoesNotExist` (views turn ObjectDoesNotExist into 404);
- rows are locked persons first, then faces, each in id order (no lock-order deadlocks with
  each other or with the recognition jobs);
- a change of labels bumps the owner's labels_version and, after commit, schedules ONE
  debounced index rebuild + re-match (faces.tasks.schedule_index_rebuild);
- services a user may want to undo return a `LabelsChange`; `labels_undo(user=..., change=
  change.as_dict())` reverts it (the dict is plain JSON for a session or a signed form field,
  and every id in it is re-checked against the user, like any other input).
"""

from __future__ import annotations

import datetime
import logging
import math
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, FloatField
from django.db.models.functions import Cast
from django.utils import timezone

from faces import index as face_index
from faces import index_cache, recognition
from faces.models import Face, FaceGroup, FaceRejection, Person, RecognitionIndex
from smartgallery.db import atomic_with_retry
from smartgallery.text import has_visible, strip_invisible

logger = logging.getLogger(__name__)

NAMED_STATES = (Face.State.CONFIRMED, Face.State.AUTO, Face.State.SUGGESTED)
JOB_STATES = recognition.JOB_STATES


# Undo --------------------------------------------------------------------------------------


@dataclass
class FaceSnapshot:
    face_id: int
    state: str
    person_id: int | None
    similarity: float | None
    margin: float | None
    group_id: int | None


@dataclass
class PersonSnapshot:
    person_id: int
    deleted: bool
    merged_into_id: int | None
    cover_face_id: int | None
    cover_chosen: bool
    birth_date: str | None


@dataclass
class LabelsChange:
    """What a service changed, enough to put it back. Lists of plain ids and values."""

    faces: list[FaceSnapshot] = field(default_factory=list)  # states *before* the change
    persons: list[PersonSnapshot] = field(default_factory=list)  # persons *before* the change
    rejections_added: list[tuple[int, int]] = field(default_factory=list)  # (face, person)
    rejections_removed: list[tuple[int, int]] = field(default_factory=list)
    groups_dismissed: list[int] = field(default_factory=list)
    groups_created: list[int] = field(default_factory=list)
    person_created: int | None = None
    # Who the faces were named for (face_assign, group naming): the answer's "Named Anna." is
    # built from these, not by loading the person again, which may be deleted by then.
    named_person_id: int | None = None
    named_person_name: str = ""
    skipped_face_ids: list[int] = field(default_factory=list)  # asked for, but not changed (why: docstring)

    @property
    def face_ids(self) -> list[int]:
        return [snap.face_id for snap in self.faces]

    def as_dict(self) -> dict:
        return asdict(self)


def _snapshot(face: Face) -> FaceSnapshot:
    return FaceSnapshot(face.id, face.state, face.person_id, face.similarity, face.margin, face.group_id)


def _person_snapshot(person: Person) -> PersonSnapshot:
    return PersonSnapshot(
        person.id,
        person.deleted_at is not None,
        person.merged_into_id,
        person.cover_face_id,
        person.cover_chosen,
        person.birth_date.isoformat() if person.birth_date else None,
    )


# Helpers -----------------------------------------------------------------------------------


def _labels_changed(owner_id: int) -> None:
    from faces.tasks import schedule_index_rebuild

    index_cache.labels_changed(owner_id)
    # robust: a broker outage must not turn a saved correction into an error page; the next
    # correction, `manage.py reindex` or a pipeline run picks the change up.
    transaction.on_commit(lambda: schedule_index_rebuild(owner_id), robust=True)


def _face(user, face_id: int) -> Face:
    return Face.objects.for_user(user).select_for_update().get(pk=face_id)


def _faces(user, face_ids: Iterable[int]) -> list[Face]:
    """All of them or Face.DoesNotExist: a bulk request never half-applies to foreign ids."""
    wanted = {int(i) for i in face_ids}
    faces = list(Face.objects.for_user(user).select_for_update().filter(pk__in=wanted).order_by("id"))
    if len(faces) != len(wanted):
        raise Face.DoesNotExist("Face matching query does not exist.")
    return faces


def _person(user, person_id: int) -> Person:
    return Person.objects.for_user(user).select_for_update().get(pk=person_id)


def _persons(user, person_ids: Iterable[int]) -> list[Person]:
    wanted = {int(i) for i in person_ids}
    persons = list(Person.objects.for_user(user).select_for_update().filter(pk__in=wanted).order_by("id"))
    if len(persons) != len(wanted):
        raise Person.DoesNotExist("Person matching query does not exist.")
    return persons


def _clean_name(name: str) -> str:
    # Invisible characters go (as from file names): "Anna" with a zero-width space in it would
    # look like Anna but be another name, and a name of only such characters shows nothing.
    name = " ".join(strip_invisible(name or "").split())
    if not name:
        raise ValidationError({"name": "A name is required."})
    if not has_visible(name):
        raise ValidationError({"name": "That name has no visible letters."})
    if len(name) > Person._meta.get_field("name").max_length:
        raise ValidationError({"name": "That name is too long."})
    return name


PERSON_GONE = "That person was deleted or merged in the meantime. Pick someone else or type a name."
GROUP_GONE = "These faces were named or regrouped in the meantime; the page shows them as they are now."
QUESTION_GONE = "This group is no longer asked about anyone; the page shows it as it is now."


def _person_or_new(user, *, person_id: int | None, name: str | None, change: LabelsChange) -> Person:
    """The person to name faces for: an existing one of the user's, or the one a typed name
    means (created when the user has nobody of that name).

    A name resolves under a lock on the owner's row: two requests typing the same new name
    at once (a double click, two tabs) get one person, where a read-then-create made two.
    MariaDB cannot enforce a unique name among live persons (no conditional unique index),
    and two persons may share a name on purpose (a rename), so it is a lock, not a constraint.
    """
    if (person_id is None) == (name is None):
        raise ValidationError("Give either an existing person or a new name.")
    if person_id is not None:
        try:
            person = _person(user, person_id)
        except Person.DoesNotExist:
            # The user's own person, deleted (or merged away) after the page was drawn: say
            # so. Any other id stays a plain DoesNotExist (404), like another user's.
            if Person.objects.for_user_including_deleted(user).filter(pk=person_id).exists():
                raise ValidationError(PERSON_GONE) from None
            raise
    else:
        name = _clean_name(name)
        get_user_model().objects.select_for_update().only("pk").get(pk=user.pk)
        # A locking read: it sees a person committed by the request we waited for.
        same = list(Person.objects.for_user(user).select_for_update().filter(name__iexact=name).order_by("id")[:2])
        if len(same) > 1:
            raise ValidationError(f"Several people are called {name}: open one of them and name the face from there.")
        if same:
            person = same[0]
        else:
            person = person_create(user=user, name=name)
            change.person_created = person.id
    change.named_person_id, change.named_person_name = person.id, person.name
    return person


def _set_faces(faces: Sequence[Face], *, user, state: str, person: Person | None, change: LabelsChange) -> None:
    now = timezone.now()
    for face in faces:
        change.faces.append(_snapshot(face))
        face.state = state
        face.person_id = person.id if person else None
        face.similarity = None
        face.margin = None
        face.group_id = None if state != Face.State.UNKNOWN else face.group_id
        face.changed_by = user
        face.changed_at = now
    Face.objects.bulk_update(
        faces, ["state", "person", "similarity", "margin", "group", "changed_by", "changed_at"], batch_size=500
    )


def _release_photo_mates(faces: Sequence[Face], person: Person, *, change: LabelsChange) -> None:
    """The user put `person` on these faces: other faces of the same photos that a job had
    given this person lose it (one person per photo unless the user says so)."""
    mates = list(
        Face.objects.select_for_update()
        .filter(owner_id=person.owner_id, photo_id__in={f.photo_id for f in faces}, person=person, state__in=JOB_STATES)
        .exclude(pk__in=[f.pk for f in faces])
        .order_by("id")
    )
    now = timezone.now()
    for mate in mates:
        change.faces.append(_snapshot(mate))
        mate.state, mate.person_id, mate.similarity, mate.margin = Face.State.UNKNOWN, None, None, None
        mate.changed_at = now
    Face.objects.bulk_update(mates, ["state", "person", "similarity", "margin", "changed_at"])


def _reject(face: Face, person_id: int, *, change: LabelsChange) -> None:
    _reject_all([(face, person_id)], change=change)


def _reject_all(pairs: Sequence[tuple[Face, int]], *, change: LabelsChange) -> None:
    """ "Not <person>" remembered for each (face, person id): two queries however many (the
    faces are locked by the caller, so nobody adds the same row in between)."""
    if not pairs:
        return
    known = set(FaceRejection.objects.filter(face__in=[face for face, _ in pairs]).values_list("face_id", "person_id"))
    added = []
    for face, person_id in pairs:
        if (face.id, person_id) not in known:
            known.add((face.id, person_id))
            added.append(FaceRejection(owner_id=face.owner_id, face=face, person_id=person_id))
    FaceRejection.objects.bulk_create(added, batch_size=1000)
    change.rejections_added.extend((r.face_id, r.person_id) for r in added)


def _name_faces(faces: Sequence[Face], person: Person, *, user, change: LabelsChange) -> None:
    """The user says these faces are `person`: confirmed. A "not <person>" they had is lifted
    (the user has the last word), and the other faces of their photos that a job had given the
    person lose it (one person per photo unless the user says so)."""
    removed = FaceRejection.objects.filter(face__in=faces, person=person)
    change.rejections_removed.extend(removed.order_by("face_id").values_list("face_id", "person_id"))
    removed.delete()
    _release_photo_mates(faces, person, change=change)
    _set_faces(faces, user=user, state=Face.State.CONFIRMED, person=person, change=change)


def _refresh_cover(person: Person) -> None:
    """Auto-pick the cover (best-quality confirmed face) unless the user chose one that is
    still this person's."""
    if person.cover_chosen and person.cover_face_id:
        still_mine = Face.objects.filter(pk=person.cover_face_id, person=person, state__in=NAMED_STATES).exists()
        if still_mine:
            return
    best = (
        Face.objects.filter(person=person, owner_id=person.owner_id, state=Face.State.CONFIRMED)
        .annotate(quality=Cast(F("size_px"), FloatField()) * F("frontalness"))
        .order_by("-recognisable", "-quality", "id")
        .values_list("id", flat=True)
        .first()
    )
    Person.objects.filter(pk=person.pk).update(cover_face_id=best, cover_chosen=False)
    person.cover_face_id, person.cover_chosen = best, False


def _refresh_covers(person_ids: Iterable[int | None]) -> None:
    for person in Person.objects.filter(pk__in={p for p in person_ids if p}):
        _refresh_cover(person)


# Faces -------------------------------------------------------------------------------------


@atomic_with_retry
def face_confirm(*, user, face_id: int) -> LabelsChange:
    """The user says yes to the face's suggested or automatic person."""
    face = _face(user, face_id)
    if face.person_id is None or face.state not in NAMED_STATES:
        raise ValidationError("This face has no person to confirm.")
    return face_assign(user=user, face_id=face.id, person_id=face.person_id)


@atomic_with_retry
def face_assign(*, user, face_id: int, person_id: int | None = None, name: str | None = None) -> LabelsChange:
    """Name a face: an existing person of the user's, or a new person by name. Confirmed.

    Reassigning a face away from a person does not add "not <old person>": the user named who
    it is, and a later removal from the new person would otherwise hide the old one for good.
    Choosing a person the face was rejected for lifts that rejection (the user has the last word).
    """
    return faces_assign(user=user, face_ids=[face_id], person_id=person_id, name=name)


@atomic_with_retry
def faces_assign(
    *, user, face_ids: Sequence[int], person_id: int | None = None, name: str | None = None
) -> LabelsChange:
    """ "These are Ben": name every face the user picked (`face_assign` for each, in one
    transaction, one Undo and one index rebuild). All the faces must be the user's, or nothing
    changes (Face.DoesNotExist)."""
    if not face_ids:
        raise ValidationError("Pick at least one face.")
    change = LabelsChange()
    person = _person_or_new(user, person_id=person_id, name=name, change=change)
    faces = _faces(user, face_ids)
    if any(face.state == Face.State.REJECTED_AS_FACE for face in faces):
        raise ValidationError(
            "This was marked as not a face; restore it first."
            if len(faces) == 1
            else "One of these was marked as not a face; restore it first, or leave it out."
        )
    previous = {face.person_id for face in faces}
    _name_faces(faces, person, user=user, change=change)
    _refresh_covers([person.id, *previous])
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def face_not_this_person(*, user, face_id: int, person_id: int | None = None) -> LabelsChange:
    """ "Not <person>": remembered for this face forever. The face becomes unknown now and gets
    its next candidate (if any) from the re-match that follows within seconds."""
    face = _face(user, face_id)
    person_id = person_id if person_id is not None else face.person_id
    if person_id is None:
        raise ValidationError("This face has no person to reject.")
    person = Person.objects.for_user(user).get(pk=person_id)
    change = LabelsChange()
    _reject(face, person.id, change=change)
    if face.person_id == person.id:
        _set_faces([face], user=user, state=Face.State.UNKNOWN, person=None, change=change)
        _refresh_covers([person.id])
    _labels_changed(face.owner_id)
    return change


@atomic_with_retry
def face_unassign(*, user, face_id: int) -> LabelsChange:
    """Take a face out of its person. Also remembered as "not this person", or the next
    re-match would put it straight back."""
    face = _face(user, face_id)
    if face.person_id is None:
        raise ValidationError("This face has no person.")
    return face_not_this_person(user=user, face_id=face.id, person_id=face.person_id)


@atomic_with_retry
def face_mark_not_a_face(*, user, face_id: int) -> LabelsChange:
    """Not a face: never matched, grouped or indexed again (until undone)."""
    face = _face(user, face_id)
    change = LabelsChange()
    previous = face.person_id
    _set_faces([face], user=user, state=Face.State.REJECTED_AS_FACE, person=None, change=change)
    _refresh_covers([previous])
    _labels_changed(face.owner_id)
    return change


@atomic_with_retry
def face_restore_states(*, user, snapshots: Sequence[FaceSnapshot | dict]) -> None:
    """Put faces back to earlier states (Undo). Every face, person and group id must be the
    user's, or nothing changes."""
    snapshots = [s if isinstance(s, FaceSnapshot) else FaceSnapshot(**s) for s in snapshots]
    person_ids = {s.person_id for s in snapshots if s.person_id}
    persons = set(
        Person.objects.for_user_including_deleted(user).filter(pk__in=person_ids).values_list("id", flat=True)
    )
    if persons != person_ids:
        raise Person.DoesNotExist("Person matching query does not exist.")
    group_ids = {s.group_id for s in snapshots if s.group_id}
    groups = set(FaceGroup.objects.for_user(user).filter(pk__in=group_ids).values_list("id", flat=True))
    faces = {f.id: f for f in _faces(user, [s.face_id for s in snapshots])}
    now = timezone.now()
    # Reversed: when one face was snapshotted twice, its earliest state wins.
    for snap in reversed(snapshots):
        face = faces[snap.face_id]
        face.state, face.person_id = snap.state, snap.person_id
        face.similarity, face.margin = snap.similarity, snap.margin
        face.group_id = snap.group_id if snap.group_id in groups else None
        face.changed_by, face.changed_at = user, now
    Face.objects.bulk_update(
        list(faces.values()), ["state", "person", "similarity", "margin", "group", "changed_by", "changed_at"]
    )


# Drawing a face ----------------------------------------------------------------------------

# The smallest box a user may draw, in pixels of the original (its shorter side). Smaller than
# the engine's minimum for recognition (32 px by default): such a face is kept and can be named,
# but is not recognised, like a small detected face.
MIN_DRAWN_SIDE = 24
# A box a pixel past the edge is the page's rounding, not a mistake.
EDGE_TOLERANCE = 1.0


def _drawn_box(photo, box: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ValidationError("The box needs four numbers: left, top, right and bottom.") from None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValidationError("The box needs four numbers: left, top, right and bottom.")
    if x2 <= x1 or y2 <= y1:
        raise ValidationError("The box is empty: its right edge must be right of its left, its bottom below its top.")
    width, height = photo.width, photo.height
    if x1 < -EDGE_TOLERANCE or y1 < -EDGE_TOLERANCE or x2 > width + EDGE_TOLERANCE or y2 > height + EDGE_TOLERANCE:
        raise ValidationError(f"The box goes outside the photo ({width}×{height} pixels).")
    x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    if min(x2 - x1, y2 - y1) < MIN_DRAWN_SIDE:
        raise ValidationError(
            f"The box is too small: draw it at least {MIN_DRAWN_SIDE} pixels of the photo wide and high."
        )
    return x1, y1, x2, y2


def _face_already_there(photo, box: tuple[float, float, float, float]) -> bool:
    """A face shown on the photo whose box overlaps this one as much as two detections of one
    face do, or whose centre lies inside it: drawing it again would make a second face."""
    from faces.detection import SAME_FACE_IOU, box_iou

    x1, y1, x2, y2 = box
    for face in Face.objects.filter(photo_id=photo.pk).exclude(state=Face.State.REJECTED_AS_FACE):
        cx, cy = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
        if box_iou(box, face.box) >= SAME_FACE_IOU or (x1 <= cx <= x2 and y1 <= cy <= y2):
            return True
    return False


@atomic_with_retry
def face_draw(
    *, user, photo_id: int, box: Sequence[float], person_id: int | None = None, name: str | None = None
) -> tuple[Face, LabelsChange | None]:
    """A face the detector missed: the user drew `box` (x1, y1, x2, y2 in pixels of the upright
    original) around it, and may name it (an existing person or a new name: a confirmation,
    as `face_assign`). The face is stored now, unmeasured; after commit a worker embeds it
    (faces.drawing) and recognition matches and groups it like any other face. A drawn face is
    the user's: no re-detection replaces it. Returns the face and the naming's change (None
    when left unknown). Another user's photo (or person) raises DoesNotExist."""
    from gallery.models import Photo

    photo = Photo.objects.for_user(user).select_for_update().get(pk=photo_id)
    if not photo.preview:
        raise ValidationError("This photo is not processed yet: draw the face once it is shown.")
    x1, y1, x2, y2 = _drawn_box(photo, box)
    if _face_already_there(photo, (x1, y1, x2, y2)):
        raise ValidationError("There is a face there already: open it from its box to name it.")
    face = Face.objects.create(
        owner=user,
        photo=photo,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        landmarks=[],
        det_score=0.0,
        size_px=round(min(x2 - x1, y2 - y1)),
        recognisable=False,
        source=Face.Source.DRAWN,
        changed_by=user,
        changed_at=timezone.now(),
    )
    change = None
    if person_id is not None or name is not None:
        change = face_assign(user=user, face_id=face.id, person_id=person_id, name=name)

    def measure() -> None:
        from faces.tasks import schedule_drawn_face_measure

        schedule_drawn_face_measure(face.id)

    transaction.on_commit(measure, robust=True)
    return face, change


# Persons -----------------------------------------------------------------------------------


@atomic_with_retry
def person_create(*, user, name: str) -> Person:
    person = Person(owner=user, name=_clean_name(name))
    person.full_clean()
    person.save()
    return person


@atomic_with_retry
def person_rename(*, user, person_id: int, name: str) -> Person:
    person = _person(user, person_id)
    person.name = _clean_name(name)
    person.full_clean()
    person.save(update_fields=["name", "updated_at"])
    _labels_changed(person.owner_id)
    return person


@atomic_with_retry
def person_set_cover(*, user, person_id: int, face_id: int | None) -> Person:
    """The user's cover choice; None goes back to the automatic pick."""
    person = _person(user, person_id)
    if face_id is None:
        person.cover_chosen = False
        person.save(update_fields=["cover_chosen", "updated_at"])
        _refresh_cover(person)
        return person
    # Locked: a face whose photo is being deleted is waited for and then gone (404), instead of
    # becoming the cover just before it goes (the foreign key check failed: a 500).
    face = _face(user, face_id)
    if face.person_id != person.id or face.state not in NAMED_STATES:
        raise ValidationError("The cover must be one of this person's faces.")
    person.cover_face, person.cover_chosen = face, True
    person.save(update_fields=["cover_face", "cover_chosen", "updated_at"])
    return person


@atomic_with_retry
def person_set_birth_date(*, user, person_id: int, birth_date: datetime.date | None) -> Person:
    person = _person(user, person_id)
    if birth_date and birth_date > timezone.localdate():
        raise ValidationError({"birth_date": "The birth date is in the future."})
    person.birth_date = birth_date
    person.save(update_fields=["birth_date", "updated_at"])
    return person


@atomic_with_retry
def person_hide(*, user, person_id: int) -> Person:
    """Hidden from the people list; still recognised, so their faces stay named."""
    person = _person(user, person_id)
    person.hidden = True
    person.save(update_fields=["hidden", "updated_at"])
    return person


@atomic_with_retry
def person_unhide(*, user, person_id: int) -> Person:
    person = _person(user, person_id)
    person.hidden = False
    person.save(update_fields=["hidden", "updated_at"])
    return person


@atomic_with_retry
def person_confirm_suggestions(*, user, person_id: int) -> LabelsChange:
    """ "Yes, all of them are Anna": every face suggested for the person is confirmed, as
    `face_confirm` and `faces_confirm` do (an old "not Anna" lifted, the other faces of their
    photos a job had named Anna released), in one transaction, one Undo and one index rebuild."""
    change = LabelsChange()
    person = _person_or_new(user, person_id=person_id, name=None, change=change)
    faces = list(
        Face.objects.for_user(user).select_for_update().filter(person=person, state=Face.State.SUGGESTED).order_by("id")
    )
    if not faces:
        raise ValidationError(f"There are no suggestions for {person.name} any more.")
    _name_faces(faces, person, user=user, change=change)
    _refresh_cover(person)
    _labels_changed(user.pk)
    return change


def _picked_faces_of(user, person: Person, face_ids: Sequence[int], *, change: LabelsChange) -> list[Face]:
    """The picked faces (all the user's, or Face.DoesNotExist) that are still `person`'s; the
    others (named or corrected in the meantime) are left as they are and reported."""
    faces = _faces(user, face_ids)
    if not faces:
        raise ValidationError("Pick at least one face.")
    mine = [f for f in faces if f.person_id == person.id and f.state in NAMED_STATES]
    change.skipped_face_ids.extend(f.id for f in faces if f not in mine)
    if not mine:
        raise ValidationError(f"These faces are no longer {person.name}'s; the page shows them as they are now.")
    return mine


@atomic_with_retry
def person_faces_move(
    *, user, person_id: int, face_ids: Sequence[int], to_person_id: int | None = None, name: str | None = None
) -> LabelsChange:
    """ "These are not Anna, they are Ben": move faces the user picked from one person to another
    (an existing one, or a new one by name), confirmed, as `face_assign` does for one face, in
    one transaction and one Undo. Faces that are no longer the person's are left alone and
    reported in `skipped_face_ids`.

    Only ever the user's own choice: nothing in the system moves a confirmed face (the
    "Faces that may not be Anna" page only ranks them, selectors.person_outlier_ranking).
    """
    change = LabelsChange()
    if to_person_id is not None:
        if int(to_person_id) == int(person_id):
            raise ValidationError("Pick someone else: the faces are already this person's.")
        # Both persons locked in id order (module rule), then the target checked as a target:
        # one deleted or merged meanwhile is PERSON_GONE, another user's is DoesNotExist.
        locked = {
            p.id: p
            for p in Person.objects.for_user(user)
            .select_for_update()
            .filter(pk__in=[int(person_id), int(to_person_id)])
            .order_by("id")
        }
        if int(person_id) not in locked:
            raise Person.DoesNotExist("Person matching query does not exist.")
        source = locked[int(person_id)]
        target = _person_or_new(user, person_id=int(to_person_id), name=None, change=change)
    else:
        # A typed name resolves under the owner's row lock (see _person_or_new), taken before
        # the person rows as there.
        target = _person_or_new(user, person_id=None, name=name, change=change)
        source = _person(user, person_id)
        if target.id == source.id:
            raise ValidationError("Pick someone else: the faces are already this person's.")
    faces = _picked_faces_of(user, source, face_ids, change=change)
    _name_faces(faces, target, user=user, change=change)
    _refresh_covers([source.id, target.id])
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def person_faces_reject(*, user, person_id: int, face_ids: Sequence[int]) -> LabelsChange:
    """ "Not Anna" for each face the user picked from her: remembered for each, and each becomes
    unknown (its next candidate, if any, comes from the re-match), as `face_not_this_person`
    does for one face. Faces that are no longer hers are left alone and reported."""
    person = _person(user, person_id)
    change = LabelsChange()
    faces = _picked_faces_of(user, person, face_ids, change=change)
    _reject_all([(face, person.id) for face in faces], change=change)
    _set_faces(faces, user=user, state=Face.State.UNKNOWN, person=None, change=change)
    _refresh_cover(person)
    _labels_changed(user.pk)
    return change


# What a job gave a face and the user has not answered yet: a "yes" or "no" to it is asked.
ASKED_STATES = (Face.State.SUGGESTED, Face.State.AUTO)
SUGGESTIONS_GONE = "These suggestions were answered in the meantime; the page shows them as they are now."


def _asked_faces(
    user, asked: Mapping[int, int], *, change: LabelsChange, confirmed_ok: bool = False
) -> list[tuple[Face, Person]]:
    """The faces of `asked` (face id -> the person the page asked about) that a job still gives
    that person (suggested or automatic), each with the person; every face and person must be
    the user's (DoesNotExist otherwise, nothing changes). The others were answered or
    re-matched since the page was drawn: left alone, reported in `skipped_face_ids`, except,
    with `confirmed_ok`, a face the user confirmed for that person (nothing left to do)."""
    asked = {int(face_id): int(person_id) for face_id, person_id in asked.items()}
    if not asked:
        raise ValidationError("Pick at least one face.")
    # Persons first, then faces, each in id order (module rule). A person deleted or merged
    # since still is the user's: her faces are simply no longer asked about.
    wanted = set(asked.values())
    persons = {
        p.id: p
        for p in Person.objects.for_user_including_deleted(user)
        .select_for_update()
        .filter(pk__in=wanted)
        .order_by("id")
    }
    if len(persons) != len(wanted):
        raise Person.DoesNotExist("Person matching query does not exist.")
    chosen = []
    for face in _faces(user, asked):
        person = persons[asked[face.id]]
        if face.person_id == person.id and face.state in ASKED_STATES and person.deleted_at is None:
            chosen.append((face, person))
        elif not (confirmed_ok and face.person_id == person.id and face.state == Face.State.CONFIRMED):
            change.skipped_face_ids.append(face.id)
    return chosen


@atomic_with_retry
def faces_confirm(*, user, asked: Mapping[int, int]) -> LabelsChange:
    """ "Yes" to each picked suggestion at once (face id -> the person it was asked about), as
    `face_confirm` does for one: confirmed, in one transaction, one Undo and one index rebuild.
    A face answered or re-matched since the page was drawn is left alone and reported: a "yes"
    to Anna never confirms a face that is someone else's by now, nor touches a confirmed one."""
    change = LabelsChange()
    chosen = _asked_faces(user, asked, change=change, confirmed_ok=True)
    if not chosen:
        raise ValidationError("These faces are confirmed already." if not change.skipped_face_ids else SUGGESTIONS_GONE)
    by_person: dict[int, tuple[Person, list[Face]]] = {}
    for face, person in chosen:
        by_person.setdefault(person.id, (person, []))[1].append(face)
    for person, faces in by_person.values():
        _name_faces(faces, person, user=user, change=change)
    if len(by_person) == 1:
        ((only, _),) = by_person.values()
        change.named_person_id, change.named_person_name = only.id, only.name
    _refresh_covers(by_person)
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def faces_reject(*, user, asked: Mapping[int, int]) -> LabelsChange:
    """ "No" to each picked suggestion at once (face id -> the person it was asked about), as
    `face_not_this_person` does for one: "not <person>" remembered, the face unknown again (its
    next candidate comes from the re-match), in one transaction, one Undo and one index
    rebuild. A face confirmed or re-matched since the page was drawn is left alone and
    reported: "No to all" never undoes what the user confirmed."""
    change = LabelsChange()
    chosen = _asked_faces(user, asked, change=change)
    if not chosen:
        raise ValidationError(SUGGESTIONS_GONE)
    _reject_all([(face, person.id) for face, person in chosen], change=change)
    _set_faces([face for face, _ in chosen], user=user, state=Face.State.UNKNOWN, person=None, change=change)
    _refresh_covers({person.id for _, person in chosen})
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def person_merge(*, user, person_id: int, into_person_id: int) -> LabelsChange:
    """Merge `person_id` into `into_person_id`: its faces and "not this person" rows move over.

    - Faces keep their states (confirmed stay confirmed); a job-named face that was rejected
      for the target becomes unknown (the rejection stands); a confirmed one keeps its name and
      the contradicting rejection goes (the merge is the user's newer word).
    - One photo holding faces of both: confirmed ones stay, the job-named ones become unknown.
    - The target keeps its cover, name, hidden flag and birth date (taking the source's when
      the target has none). The source is soft-deleted with merged_into set, so Undo works.
    """
    if int(person_id) == int(into_person_id):
        raise ValidationError("A person cannot be merged into itself.")
    source, target = _persons(user, [person_id, into_person_id])
    if source.id != int(person_id):
        source, target = target, source
    change = LabelsChange(persons=[_person_snapshot(source), _person_snapshot(target)])
    faces = list(Face.objects.select_for_update().filter(owner_id=user.pk, person=source).order_by("id"))
    rejected_target = set(FaceRejection.objects.filter(person=target, face__in=faces).values_list("face_id", flat=True))
    lifted = []
    for face in faces:
        change.faces.append(_snapshot(face))
        if face.id in rejected_target:
            if face.state == Face.State.CONFIRMED:
                lifted.append(face.id)
            else:
                face.state, face.similarity, face.margin = Face.State.UNKNOWN, None, None
                face.person_id = None
                continue
        face.person_id = target.id
    if lifted:
        FaceRejection.objects.filter(person=target, face_id__in=lifted).delete()
        change.rejections_removed.extend((face_id, target.id) for face_id in lifted)
    Face.objects.bulk_update(faces, ["person", "state", "similarity", "margin"], batch_size=500)
    # "Not <source>" now means "not <target>", except on a face the user confirmed as the target.
    # Read after the move above, and locked (in id order) for _reject_all.
    not_source = list(FaceRejection.objects.filter(person=source).order_by("face_id").values_list("face_id", flat=True))
    change.rejections_removed.extend((face_id, source.id) for face_id in not_source)
    carried = Face.objects.select_for_update().filter(owner_id=user.pk, pk__in=not_source).order_by("id")
    _reject_all(
        [
            (face, target.id)
            for face in carried
            if not (face.person_id == target.id and face.state == Face.State.CONFIRMED)
        ],
        change=change,
    )
    FaceRejection.objects.filter(person=source).delete()
    _resolve_same_photo(target, change=change)
    if not target.birth_date and source.birth_date:
        target.birth_date = source.birth_date
    if not target.cover_chosen and source.cover_chosen:
        target.cover_face_id, target.cover_chosen = source.cover_face_id, True
    target.save(update_fields=["birth_date", "cover_face", "cover_chosen", "updated_at"])
    source.deleted_at, source.merged_into = timezone.now(), target
    source.save(update_fields=["deleted_at", "merged_into", "updated_at"])
    _refresh_cover(target)
    _labels_changed(user.pk)
    return change


def _resolve_same_photo(person: Person, *, change: LabelsChange) -> None:
    faces = list(
        Face.objects.select_for_update().filter(person=person, owner_id=person.owner_id).order_by("photo_id", "id")
    )
    by_photo: dict[int, list[Face]] = {}
    for face in faces:
        by_photo.setdefault(face.photo_id, []).append(face)
    demoted = []
    for photo_faces in by_photo.values():
        if len(photo_faces) < 2:
            continue
        confirmed = [f for f in photo_faces if f.state == Face.State.CONFIRMED]
        keep = confirmed or [max(photo_faces, key=lambda f: (f.similarity or 0.0, -f.id))]
        for face in photo_faces:
            if face not in keep and face.state in JOB_STATES:
                if not any(s.face_id == face.id for s in change.faces):
                    change.faces.append(_snapshot(face))
                face.state, face.person_id, face.similarity, face.margin = Face.State.UNKNOWN, None, None, None
                demoted.append(face)
    Face.objects.bulk_update(demoted, ["state", "person", "similarity", "margin"])


@atomic_with_retry
def person_delete(*, user, person_id: int) -> LabelsChange:
    """Delete a person: their faces become unknown and are never named automatically again.

    Soft delete: the row stays (invisible: `for_user` hides it) and every face it had gets a
    "not this person" row against it. Recognition caps a face with a rejection against a
    deleted person at *suggested*, so if the user has (or later creates) a person who is the
    same human, these faces are offered ("Is this Anna?") but never silently re-assigned. The
    released faces go into one dismissed group, so the same set does not return at once as an
    unnamed group. Undo: labels_undo(change) brings all of it back.
    """
    person = _person(user, person_id)
    change = LabelsChange(persons=[_person_snapshot(person)])
    faces = list(Face.objects.select_for_update().filter(owner_id=user.pk, person=person).order_by("id"))
    released = [f for f in faces if f.state != Face.State.REJECTED_AS_FACE]
    _reject_all([(face, person.id) for face in released], change=change)
    _set_faces(released, user=user, state=Face.State.UNKNOWN, person=None, change=change)
    if released:
        group = FaceGroup.objects.create(owner=user, dismissed=True)
        change.groups_created.append(group.id)
        Face.objects.filter(pk__in=[f.id for f in released]).update(group=group)
    person.deleted_at = timezone.now()
    person.save(update_fields=["deleted_at", "updated_at"])
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def labels_undo(*, user, change: dict | LabelsChange) -> None:
    """Revert what a service returned. All-or-nothing; foreign ids raise DoesNotExist."""
    data = change.as_dict() if isinstance(change, LabelsChange) else change
    snapshots = [PersonSnapshot(**p) for p in data.get("persons", [])]
    persons = {
        p.id: p
        for p in Person.objects.for_user_including_deleted(user)
        .select_for_update()
        .filter(pk__in=[s.person_id for s in snapshots])
    }
    if len(persons) != len({s.person_id for s in snapshots}):
        raise Person.DoesNotExist("Person matching query does not exist.")
    for snap in snapshots:
        person = persons[snap.person_id]
        if snap.merged_into_id and snap.merged_into_id not in persons:
            Person.objects.for_user_including_deleted(user).get(pk=snap.merged_into_id)
        person.deleted_at = None if not snap.deleted else (person.deleted_at or timezone.now())
        person.merged_into_id = snap.merged_into_id
        person.birth_date = datetime.date.fromisoformat(snap.birth_date) if snap.birth_date else None
        cover_ok = snap.cover_face_id is None or Face.objects.for_user(user).filter(pk=snap.cover_face_id).exists()
        person.cover_face_id = snap.cover_face_id if cover_ok else None
        person.cover_chosen = snap.cover_chosen and cover_ok
        person.save()
    pairs = [tuple(p) for p in data.get("rejections_added", [])] + [
        tuple(p) for p in data.get("rejections_removed", [])
    ]
    face_ids = {f for f, _ in pairs}
    person_ids = {p for _, p in pairs}
    _faces(user, face_ids)
    if len(Person.objects.for_user_including_deleted(user).filter(pk__in=person_ids)) != len(person_ids):
        raise Person.DoesNotExist("Person matching query does not exist.")
    for face_id, person_id in data.get("rejections_added", []):
        FaceRejection.objects.filter(owner=user, face_id=face_id, person_id=person_id).delete()
    for face_id, person_id in data.get("rejections_removed", []):
        FaceRejection.objects.get_or_create(owner=user, face_id=face_id, person_id=person_id)
    FaceGroup.objects.for_user(user).filter(pk__in=data.get("groups_dismissed", [])).update(dismissed=False)
    face_restore_states(user=user, snapshots=data.get("faces", []))
    FaceGroup.objects.for_user(user).filter(pk__in=data.get("groups_created", [])).delete()
    if data.get("person_created"):
        created = Person.objects.for_user(user).filter(pk=data["person_created"])
        if not Face.objects.filter(person__in=created).exists():
            created.delete()
    _refresh_covers(
        [s.person_id for s in snapshots if not s.cover_chosen]
        + [s["person_id"] for s in data.get("faces", []) if s["person_id"]]
    )
    _labels_changed(user.pk)


# Groups ------------------------------------------------------------------------------------


def _group(user, group_id: int) -> FaceGroup:
    return FaceGroup.objects.for_user(user).select_for_update().get(pk=group_id)


@atomic_with_retry
def group_name(*, user, group_id: int, person_id: int | None = None, name: str | None = None) -> LabelsChange:
    """Name a whole unnamed group at once: its faces become confirmed for the person."""
    group = _group(user, group_id)
    face_ids = list(group.faces.filter(state=Face.State.UNKNOWN).values_list("id", flat=True))
    if not face_ids:
        # The page was drawn before its faces were named or regrouped: naming nothing would
        # create an empty person ("Named 0 faces").
        raise ValidationError(GROUP_GONE)
    return group_name_partial(user=user, group_id=group.id, face_ids=face_ids, person_id=person_id, name=name)


@atomic_with_retry
def group_question_confirm(*, user, group_id: int) -> LabelsChange:
    """Yes to "Are these faces Anna?": the group is named for its suggested person (a face
    rejected for that person before is left out, as group_name_partial does)."""
    group = _group(user, group_id)
    if group.suggested_person_id is None:
        raise ValidationError(QUESTION_GONE)
    return group_name(user=user, group_id=group.id, person_id=group.suggested_person_id)


@atomic_with_retry
def group_question_reject(*, user, group_id: int) -> LabelsChange:
    """No to "Are these faces Anna?": every face of the group is "not Anna" (remembered, so the
    question never comes back); the faces stay a group, to be named as someone else."""
    group = _group(user, group_id)
    if group.suggested_person_id is None:
        raise ValidationError(QUESTION_GONE)
    person_id = group.suggested_person_id
    change = LabelsChange()
    faces = _faces(user, group.faces.filter(state=Face.State.UNKNOWN).values_list("id", flat=True))
    _reject_all([(face, person_id) for face in faces], change=change)
    group.suggested_person_id, group.suggested_score = None, None
    group.save(update_fields=["suggested_person", "suggested_score"])
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def group_name_partial(
    *, user, group_id: int, face_ids: Sequence[int], person_id: int | None = None, name: str | None = None
) -> LabelsChange:
    """Name the picked faces of a group. Every face must be an unknown face of this group.

    Faces rejected for that person before, and a second face of a photo that already has the
    person, are left unknown and reported in `skipped_face_ids`.
    """
    group = _group(user, group_id)
    change = LabelsChange()
    person = _person_or_new(user, person_id=person_id, name=name, change=change)
    faces = _faces(user, face_ids)
    if any(f.group_id != group.id or f.state != Face.State.UNKNOWN for f in faces):
        raise ValidationError("Only unknown faces of this group can be named here.")
    rejected = set(FaceRejection.objects.filter(person=person, face__in=faces).values_list("face_id", flat=True))
    photos_with_person = set(
        Face.objects.filter(owner=user, person=person, state=Face.State.CONFIRMED).values_list("photo_id", flat=True)
    )
    chosen = []
    for face in sorted(faces, key=lambda f: (-f.size_px, f.id)):
        if face.id in rejected or face.photo_id in photos_with_person:
            change.skipped_face_ids.append(face.id)
            continue
        photos_with_person.add(face.photo_id)
        chosen.append(face)
    _release_photo_mates(chosen, person, change=change)
    _set_faces(chosen, user=user, state=Face.State.CONFIRMED, person=person, change=change)
    _refresh_cover(person)
    _labels_changed(user.pk)
    return change


@atomic_with_retry
def group_faces_remove(*, user, group_id: int, face_ids: Sequence[int]) -> LabelsChange:
    """ "Not the same person as the others": take these unknown faces out of the group. They go
    into a dismissed group of their own, which the regrouping leaves alone (as "not this person"
    is remembered for a person), so they do not come back; they stay unknown and can be named."""
    group = _group(user, group_id)
    faces = _faces(user, face_ids)
    if not faces or any(f.group_id != group.id or f.state != Face.State.UNKNOWN for f in faces):
        raise ValidationError("Only unknown faces of this group can be taken out of it.")
    change = LabelsChange(faces=[_snapshot(f) for f in faces])
    aside = FaceGroup.objects.create(owner=user, dismissed=True)
    change.groups_created.append(aside.id)
    Face.objects.filter(pk__in=[f.id for f in faces]).update(group=aside, changed_by=user, changed_at=timezone.now())
    return change


@atomic_with_retry
def group_dismiss(*, user, group_id: int) -> LabelsChange:
    """ "Don't ask me about these": the group's faces are never grouped together again."""
    group = _group(user, group_id)
    change = LabelsChange()
    if not group.dismissed:
        group.dismissed = True
        group.save(update_fields=["dismissed"])
        change.groups_dismissed.append(group.id)
    return change


@transaction.atomic
def index_invalidate(*, owner_id: int) -> None:
    """Reference faces went away without a label change (a photo was deleted): mark the
    owner's index stale and schedule the debounced rebuild, so its ids stay a subset of the
    owner's faces. For other apps' delete services; call it in their transaction."""
    _labels_changed(owner_id)


# Accounts ----------------------------------------------------------------------------------


def user_faces_delete(user) -> None:
    """Account deletion (registered in FacesConfig.ready): the user's people rows now, their
    index files (every machine's copy lives under the same per-user folder name) after commit."""
    owner_id = user.pk
    FaceRejection.objects.filter(owner_id=owner_id).delete()
    Face.objects.filter(owner_id=owner_id).update(person=None, group=None)
    Person.objects.filter(owner_id=owner_id).update(cover_face=None, merged_into=None)
    Person.objects.filter(owner_id=owner_id).delete()
    FaceGroup.objects.filter(owner_id=owner_id).delete()
    RecognitionIndex.objects.filter(owner_id=owner_id).delete()
    transaction.on_commit(lambda: _index_files_delete(owner_id), robust=True)


def _index_files_delete(owner_id: int) -> None:
    folder = face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, owner_id).parent
    shutil.rmtree(folder, ignore_errors=True)
    index_cache.forget_loaded_indexes()


__all__ = [
    "FaceSnapshot",
    "LabelsChange",
    "PersonSnapshot",
    "face_assign",
    "face_confirm",
    "face_draw",
    "faces_assign",
    "faces_confirm",
    "faces_reject",
    "face_mark_not_a_face",
    "face_not_this_person",
    "face_restore_states",
    "face_unassign",
    "group_dismiss",
    "group_faces_remove",
    "group_name",
    "group_name_partial",
    "group_question_confirm",
    "group_question_reject",
    "index_invalidate",
    "labels_undo",
    "user_faces_delete",
    "person_confirm_suggestions",
    "person_create",
    "person_delete",
    "person_faces_move",
    "person_faces_reject",
    "person_hide",
    "person_merge",
    "person_rename",
    "person_set_birth_date",
    "person_set_cover",
    "person_unhide",
]
