"""The per-owner cache of derived library data (smartgallery.library_cache): every ORM write of an
owner's photos, persons, groups and faces gives that owner's library a new version, at its
transaction's commit (at once in a test case, whose transaction never commits), and never another
owner's; a cached value is served only while its version is current."""

import threading

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from faces.models import Face, FaceGroup, Person
from gallery.models import Photo
from smartgallery import library_cache
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice@example.com", "pw-alice-123456")


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob@example.com", "pw-bob-123456")


def _photo(owner):
    return PhotoFactory(owner=owner)


def _face(owner):
    return FaceFactory(owner=owner)


def _person(owner):
    return PersonFactory(owner=owner)


def _group(owner):
    return FaceGroupFactory(owner=owner)


# Each write a service or the worker makes, on one of the owner's rows `row` (made beforehand).
WRITES = {
    "save": lambda row: row.save(),
    "delete one": lambda row: row.delete(),
    "queryset update": lambda row: type(row).objects.filter(pk=row.pk).update(owner_id=row.owner_id),
    "queryset delete": lambda row: type(row).objects.filter(pk=row.pk).delete(),
    "bulk_update": lambda row: type(row).objects.bulk_update([row], ["owner"]),
}
MAKERS = {"photo": _photo, "face": _face, "person": _person, "group": _group}


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("kind", MAKERS)
def test_every_write_gives_the_owner_a_new_version_and_no_one_else(alice, bob, kind, write):
    row = MAKERS[kind](alice)
    MAKERS[kind](bob)
    before_alice, before_bob = library_cache.version(alice.pk), library_cache.version(bob.pk)

    WRITES[write](row)

    assert library_cache.version(alice.pk) != before_alice
    assert library_cache.version(bob.pk) == before_bob


@pytest.mark.parametrize(
    "make",
    [
        lambda owner: Photo.objects.bulk_create([PhotoFactory.build(owner=owner)]),
        lambda owner: Person.objects.bulk_create([Person(owner=owner, name="Anna")]),
        lambda owner: FaceGroup.objects.bulk_create([FaceGroup(owner=owner)]),
        lambda owner: Person.objects.create(owner=owner, name="Ben"),
    ],
    ids=["photos", "persons", "groups", "create"],
)
def test_creating_rows_gives_a_new_version(alice, bob, make):
    before_alice, before_bob = library_cache.version(alice.pk), library_cache.version(bob.pk)

    make(alice)

    assert library_cache.version(alice.pk) != before_alice
    assert library_cache.version(bob.pk) == before_bob


@pytest.mark.parametrize(
    "rows",
    [
        lambda owner: Face.objects.for_user(owner),
        lambda owner: Face.objects.filter(owner_id=owner.pk, state="unknown"),
        lambda owner: Face.objects.filter(photo__owner=owner),
        lambda owner: Face.objects.filter(Q(owner=owner) | Q(pk=0)),
        lambda owner: Face.objects.filter(owner__in=[owner.pk, 0]),
        lambda owner: Face.objects.filter(owner__in=get_user_model().objects.filter(pk=owner.pk)),
        lambda owner: Photo.objects.for_user(owner),
    ],
    ids=["for_user", "owner_id", "photo's owner", "or", "owners", "owners' query", "photos"],
)
def test_bulk_writes_find_their_owners_however_they_filter(alice, bob, rows):
    _face(alice)
    _face(bob)
    before_alice, before_bob = library_cache.version(alice.pk), library_cache.version(bob.pk)

    rows(alice).update(owner=alice)

    assert library_cache.version(alice.pk) != before_alice
    assert library_cache.version(bob.pk) == before_bob


def test_an_update_that_touches_no_row_changes_nothing(alice):
    _face(alice)
    before = library_cache.version(alice.pk)

    Face.objects.filter(owner=alice, state="confirmed").update(similarity=0.5)

    assert library_cache.version(alice.pk) == before


def test_a_cached_value_is_computed_once_while_nothing_changes(alice):
    calls = []

    def compute():
        calls.append(1)
        return Face.objects.filter(owner=alice).count()

    assert library_cache.cached(alice.pk, "faces", compute) == 0
    assert library_cache.cached(alice.pk, "faces", compute) == 0
    assert len(calls) == 1

    _face(alice)

    assert library_cache.cached(alice.pk, "faces", compute) == 1
    assert len(calls) == 2


def test_a_falsy_value_is_cached_too(alice):
    calls = []

    def compute():
        calls.append(1)
        return None

    library_cache.cached(alice.pk, "nothing", compute)
    library_cache.cached(alice.pk, "nothing", compute)

    assert len(calls) == 1


def test_owners_values_are_apart(alice, bob):
    library_cache.cached(alice.pk, "name", lambda: "alice's")

    assert library_cache.cached(bob.pk, "name", lambda: "bob's") == "bob's"


def test_a_commit_gives_another_new_version(alice, django_capture_on_commit_callbacks):
    """Another process may read the library between the write and its commit, and file what it
    read (without the write) under the version the write set: the commit replaces that version."""
    face = _face(alice)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            face.save()
            at_write = library_cache.version(alice.pk)
            _in_another_process(lambda: library_cache.cached(alice.pk, "faces", lambda: "without the write"))
            assert library_cache.cached(alice.pk, "faces", lambda: "with it") == "with it"

    assert library_cache.version(alice.pk) != at_write
    assert library_cache.cached(alice.pk, "faces", lambda: "with it") == "with it"


@pytest.mark.django_db(transaction=True)
def test_a_transaction_renews_each_owner_once_at_its_commit(alice, bob, monkeypatch):
    """A photo's processing writes dozens of rows in one transaction: one renewal, at the commit."""
    faces = [_face(alice) for _ in range(3)] + [_face(bob)]
    renewals = []
    monkeypatch.setattr(library_cache, "new_versions", lambda ids: renewals.append(set(ids)))

    with transaction.atomic():
        for face in faces:
            face.save()
        Face.objects.for_user(alice).update(similarity=0.5)
        assert renewals == []

    assert renewals == [{alice.pk, bob.pk}]


@pytest.mark.django_db(transaction=True)
def test_a_write_after_a_rolled_back_savepoint_is_still_renewed_at_commit(alice, bob, monkeypatch):
    """The rollback drops the callback registered inside the savepoint; the later write needs
    its own."""
    alices, bobs = _face(alice), _face(bob)
    renewals = []
    monkeypatch.setattr(library_cache, "new_versions", lambda ids: renewals.append(set(ids)))

    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            bobs.save()
            raise RuntimeError("rolled back")
        alices.save()

    assert renewals == [{alice.pk}]


def _in_another_process(work):
    """work() on a connection of its own, outside this test's transaction (as a web worker)."""
    from django.db import connection

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def test_a_rolled_back_write_leaves_no_value_of_it(alice):
    face = _face(alice)
    library_cache.cached(alice.pk, "faces", lambda: 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        face.delete()
        assert library_cache.cached(alice.pk, "faces", lambda: 0) == 0
        raise RuntimeError("rolled back")

    assert library_cache.cached(alice.pk, "faces", lambda: Face.objects.filter(owner=alice).count()) == 1


def test_an_evicted_version_starts_afresh(alice):
    library_cache.cached(alice.pk, "faces", lambda: "old")
    cache.delete(library_cache._version_key(alice.pk))

    assert library_cache.cached(alice.pk, "faces", lambda: "new") == "new"


def test_a_new_account_with_a_deleted_accounts_id_sees_none_of_its_values(alice):
    """SQLite (the embedded default) may give a deleted account's id to the next one."""
    pk = alice.pk
    library_cache.cached(pk, "unnamed-count", lambda: 41)
    alice.delete()

    newcomer = get_user_model().objects.create_user("new@example.com", "pw-new-123456", pk=pk)

    assert newcomer.pk == pk
    assert library_cache.cached(pk, "unnamed-count", lambda: 0) == 0


def test_an_unreachable_cache_loses_no_write_and_pages_compute_their_values(alice, monkeypatch):
    """As an upload while Redis restarts: the photo is kept, and values are computed, not read."""

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    for method in ("get", "set", "add", "set_many"):
        monkeypatch.setattr(cache, method, down)

    photo = PhotoFactory(owner=alice)
    Photo.objects.filter(pk=photo.pk).update(status="done")

    assert Photo.objects.get(pk=photo.pk).status == "done"
    assert library_cache.cached(alice.pk, "photos", lambda: Photo.objects.filter(owner=alice).count()) == 1
