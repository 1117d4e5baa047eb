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

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Lower

from faces.models import Face, Person
from faces.selectors import SHOWN_STATES, name_matches, person_names_in, photos_showing
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


def shared_person_list(*, viewer, share_id: int, query: str = "") -> list[Person]:
    """The people shown, most photos first, each with `photo_count` and `cover` (their cover
    face when the viewer may see it, else None): 2 queries. `query`: only those whose name
    contains it, case and accents ignored (matched as on the owner's People page)."""
    persons = list(
        shared_persons(viewer=viewer, share_id=share_id)
        .select_related("cover_face__photo")
        .defer("cover_face__embedding", "cover_face__landmarks")
        .order_by(Lower("name"), "id")
    )
    if query.strip():
        persons = [p for p in persons if name_matches(p.name, query)]
    counts = dict(
        shared_faces(viewer=viewer, share_id=share_id)
        .filter(person_id__in=[p.id for p in persons])
        .values("person_id")
        .annotate(n=Count("photo_id", distinct=True))
        .values_list("person_id", "n")
        .order_by()
    )
    for person in persons:
        person.photo_count = counts.get(person.id, 0)
        person.cover = _visible_cover(person)
    persons.sort(key=lambda p: -p.photo_count)  # stable: by name within a count
    return persons


def _visible_cover(person: Person) -> Face | None:
    face = person.cover_face
    if face is None or face.person_id != person.id or face.state not in SHOWN_STATES or not face.crop:
        return None
    if face.photo.deleted_at is not None or face.photo.status != Photo.Status.DONE:
        return None
    return face


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
