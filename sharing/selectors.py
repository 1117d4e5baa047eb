"""The one way to reach a library shared with the signed-in user: read-only, and only while
the share lives.

Every queryset here is filtered on `owner IN (the owner of share <id>, if that share is live
and opened to this viewer)`: the check is part of each query, so a revoke closes the library
at the viewer's next query, and nothing remembers the permission. The owner's own pages never
come here (they use `for_user`), and these never widen `for_user`. What a viewer sees: the
processed photos not in the trash, the people the owner has not hidden, and their named
faces (confirmed or recognised, never a suggestion or an unknown face).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from faces.models import Face, Person
from faces.selectors import (
    PEOPLE_PAGE_SIZE,
    SHOWN_STATES,
    PersonPage,
    by_name,
    name_matches,
    person_names_in,
    person_page,
    photos_showing,
)
from gallery.models import Photo
from gallery.selectors import PAGE_SIZE, PhotoPage, keyset_page
from sharing.models import Share


def library_get(*, viewer, share_id: int) -> Share:
    """The live share `share_id` opened to `viewer`, with its owner; else Share.DoesNotExist."""
    return Share.objects.opened_to(viewer).select_related("owner").get(pk=share_id)


def libraries_of(*, viewer) -> list[Share]:
    """The libraries `viewer` may switch to, by their owner's name."""
    shares = Share.objects.opened_to(viewer).select_related("owner").only("id", "owner__email", "owner__display_name")
    return sorted(shares, key=lambda share: (share.owner.get_full_name().lower(), share.id))


def _library_owner(viewer, share_id: int) -> QuerySet[Share]:
    return Share.objects.opened_to(viewer).filter(pk=share_id).values("owner_id")


def shared_photos(*, viewer, share_id: int) -> QuerySet[Photo]:
    return Photo.objects.filter(
        owner__in=_library_owner(viewer, share_id), deleted_at__isnull=True, status=Photo.Status.DONE
    )


def shared_persons(*, viewer, share_id: int) -> QuerySet[Person]:
    return Person.objects.filter(owner__in=_library_owner(viewer, share_id), deleted_at__isnull=True, hidden=False)


def shared_faces(*, viewer, share_id: int) -> QuerySet[Face]:
    """Named faces of the people shown, on the photos shown (faces, persons and photos of one
    owner always go together: the services never link across owners)."""
    return Face.objects.filter(
        owner__in=_library_owner(viewer, share_id),
        state__in=SHOWN_STATES,
        person__deleted_at__isnull=True,
        person__hidden=False,
        photo__deleted_at__isnull=True,
        photo__status=Photo.Status.DONE,
    )


def shared_person_names(*, viewer, share_id: int, query: str = "", keep: Iterable[int] = ()) -> list[tuple[int, str]]:
    """(id, name) of the people shown, by name, for "Photos by people": only the names that
    contain `query` (case and accents ignored) and those in `keep` (already picked): 1 query."""
    return person_names_in(shared_persons(viewer=viewer, share_id=share_id), query=query, keep=keep)


def shared_person_page(
    *, viewer, share_id: int, query: str = "", offset: int = 0, limit: int = PEOPLE_PAGE_SIZE
) -> PersonPage:
    """The people shown a page at a time, most photos first (then by name, then id: the same
    data always gives the same pages), each with `photo_count` and `cover` (their cover face
    when the viewer may see it, else None). `query`: only those whose name contains it, case
    and accents ignored (matched as on the owner's People page).

    The order by count and the accent-blind search need every person's name and count (narrow
    rows and one aggregate); only the page's covers are read: 3 queries whatever the library's
    size."""
    persons = sorted(
        shared_persons(viewer=viewer, share_id=share_id).only("id", "name", "cover_face_id"),
        key=lambda p: by_name(p.id, p.name),
    )
    faces = _shown_faces_by_index(viewer, share_id)
    if query.strip():
        persons = [p for p in persons if name_matches(p.name, query)]
        faces = faces.filter(person_id__in=[p.id for p in persons])
    counts = dict(
        faces.values("person_id").annotate(n=Count("photo_id", distinct=True)).values_list("person_id", "n").order_by()
    )
    for person in persons:
        person.photo_count = counts.get(person.id, 0)
    persons.sort(key=lambda p: -p.photo_count)  # stable: by name, then id, within a count
    page = person_page(persons, offset, limit)
    _with_visible_covers(viewer, share_id, page.persons)
    return page


def _shown_faces_by_index(viewer, share_id: int) -> QuerySet[Face]:
    """The same faces as shared_faces, for counts that need no photo column: the photos not
    shown are left out as the (few) photos of the library in the trash or not processed, a
    subquery MariaDB materialises once, instead of a join that reads every photo row. The
    counts of a 300-person library then come from the index face_owner_person_state_photo
    alone: 61 -> 7 ms (a library's faces are all on its own photos, so the set is the same)."""
    not_shown = Photo.objects.filter(owner__in=_library_owner(viewer, share_id)).filter(
        Q(deleted_at__isnull=False) | ~Q(status=Photo.Status.DONE)
    )
    return Face.objects.filter(
        owner__in=_library_owner(viewer, share_id),
        state__in=SHOWN_STATES,
        person__deleted_at__isnull=True,
        person__hidden=False,
    ).exclude(photo_id__in=not_shown.values("id"))


def _with_visible_covers(viewer, share_id: int, persons: list[Person]) -> None:
    """`cover` on each person: their cover face if it is one of the faces shown (named, on a
    photo shown) and has a crop, else None; one query for all of them."""
    ids = {p.cover_face_id for p in persons if p.cover_face_id}
    faces = (
        {
            f.id: f
            for f in shared_faces(viewer=viewer, share_id=share_id).filter(pk__in=ids).defer("embedding", "landmarks")
        }
        if ids
        else {}
    )
    for person in persons:
        face = faces.get(person.cover_face_id)
        person.cover = face if face is not None and face.person_id == person.id and face.crop else None


def shared_person_photos(*, viewer, share_id: int, person: Person, cursor: str | None = None) -> PhotoPage:
    """Photos in which `person` (one of the shown people) is named, newest first: 1 query."""
    named = shared_faces(viewer=viewer, share_id=share_id).filter(photo=OuterRef("pk"), person=person)
    return keyset_page(shared_photos(viewer=viewer, share_id=share_id).filter(Exists(named)), cursor=cursor)


def shared_photos_by_people(
    *,
    viewer,
    share_id: int,
    person_ids: list[int],
    mode: str = "and",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> PhotoPage:
    """Photos showing all ("and") or any ("or") of these people: the owner's "Photos by
    people" (faces.selectors.persons_for_photo_filter) on the shared library. An id that is
    not one of the people shown raises Person.DoesNotExist (404), like a foreign id."""
    photos = photos_showing(
        photos=shared_photos(viewer=viewer, share_id=share_id),
        persons=shared_persons(viewer=viewer, share_id=share_id),
        faces=shared_faces(viewer=viewer, share_id=share_id),
        person_ids=person_ids,
        mode=mode,
        date_from=date_from,
        date_to=date_to,
    )
    return keyset_page(photos, cursor=cursor, limit=limit)


def shares_given(*, owner) -> list[Share]:
    """The owner's live invitations, newest first (the Sharing page)."""
    return list(Share.objects.given_by(owner).filter(live=True).order_by("-created_at", "-id"))
