"""A small cast of persons, faces and a group for the people pages' view tests, and helpers for
htmx requests and query counts. The rows come from smartgallery/tests/factories.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from faces.models import Face, FaceGroup, Person
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory
from smartgallery.tests.world import XSS, XSS_ESCAPED  # noqa: F401 (the view tests import them from here)


@dataclass
class Cast:
    """One user's people data: a named person with a suggested face, a group, an unknown face."""

    person: Person
    other: Person
    suggested: Face
    unknown: Face
    group: FaceGroup
    faces: list[Face] = field(default_factory=list)


def make_cast(owner, *, name: str = "Anna", other_name: str = "Ben") -> Cast:
    person = PersonFactory(owner=owner, name=name, faces=2)
    other = PersonFactory(owner=owner, name=other_name, faces=1)
    suggested = FaceFactory(owner=owner, person=person, state=Face.State.SUGGESTED, similarity=0.5)
    unknown = FaceFactory(owner=owner)
    group = FaceGroupFactory(owner=owner)
    return Cast(person, other, suggested, unknown, group, list(Face.objects.filter(owner=owner)))


def hx(**extra) -> dict:
    """Headers of an htmx request."""
    return {"HTTP_HX_REQUEST": "true", **extra}


# Every signed-in request costs a few queries before any view runs (the session, the user, and
# allauth's user-session bookkeeping: 7 today). Page bounds below are that plus the page's own.
REQUEST_OVERHEAD_QUERIES = 7


def count_queries(client, url: str, cold: bool = False, **extra) -> int:
    """Queries of one GET, after a warm-up request (the first one of a session does more).
    cold: with no library value cached (smartgallery.library_cache), as the first request after
    a change; else with those the warm-up kept."""
    from django.contrib.auth import get_user
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from smartgallery import library_cache

    client.get(url, **extra)
    if cold:
        library_cache.new_versions({get_user(client).pk})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(ctx.captured_queries)
