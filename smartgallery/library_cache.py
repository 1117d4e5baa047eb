"""Derived data of one owner's library (counts, orders), computed once and never served stale.

The pages of a big library spend most of their time recomputing the same aggregates (every
person's face count, the unnamed faces' order) although the library rarely changes between two
requests. Each owner's library has a *version*: a random token in the shared cache (Redis; the
embedded default's file-based cache), replaced on every ORM write of that owner's photos,
persons, face groups or faces (`LibraryQuerySet`, `LibraryModel`): at the commit of the
transaction around the write (once per owner, however many rows it wrote), or at once for a
write outside one. `cached` keeps a value with the version read *before* the data,
and serves it only while that version is current: a value read from data that a later commit
changed carries a version that commit has already replaced, and no reader gets it again. Only
reads outside a transaction keep a value: they read committed data only. One round trip a value
(the version and the value together).

A fresh token rather than an increment: the file-based cache has no atomic increment, and two
writers that both set a token still leave one that no value was filed under. Keys name the
database too: owner ids are unique only within one.

Writes that bypass the ORM (raw SQL, QuerySet._raw_delete, migrations) must call `changed`.
"""

import contextlib
import contextvars
import functools
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND
from redis.exceptions import RedisError

# Values are re-read at least this often, should a write ever get past the hooks (or the cache
# be unreachable when it happens).
VALUE_SECONDS = 600
# Part of every value's key: bump it when a cached value's shape changes between releases.
SHAPE = 1

T = TypeVar("T")
logger = logging.getLogger(__name__)
# What an unreachable cache raises: Redis's errors; the file-based cache's (a full disk).
CACHE_ERRORS = (RedisError, OSError)


def _version_key(owner_id: int) -> str:
    return f"library:{connection.settings_dict['NAME']}:{owner_id}"


def changed(owner_ids: Iterable[int | None]) -> None:
    """The owners' libraries changed: new versions after the commit of the transaction around
    the write (once everyone can read it), now for a write outside one."""
    ids = {owner_id for owner_id in owner_ids if owner_id is not None}
    if not ids:
        return
    if not connection.in_atomic_block:
        new_versions(ids)
        return
    if connection.atomic_blocks[0]._from_testcase:
        # A test case's transaction never commits: its reads must see its writes now (nothing
        # is kept inside a real transaction, so only this one needs it), and a test that runs
        # the commit callbacks it captures gets one per write.
        new_versions(ids)
        transaction.on_commit(functools.partial(new_versions, ids))
        return
    _renew_at_commit(ids)


def _renew_at_commit(ids: set[int]) -> None:
    """One renewal per owner per transaction, however many writes it makes (a merge, a refresh):
    the owners gather in one commit callback. A savepoint's rollback drops the
    callbacks registered inside it, so a write after it registers a new one when its own
    callback is no longer queued."""
    pending = getattr(connection, "_library_owners_at_commit", None)
    if pending is None or not any(callback is pending for _, callback, _ in connection.run_on_commit):
        pending = _RenewAtCommit()
        connection._library_owners_at_commit = pending
        transaction.on_commit(pending)
    pending.owner_ids |= ids


class _RenewAtCommit:
    def __init__(self) -> None:
        self.owner_ids: set[int] = set()

    def __call__(self) -> None:
        new_versions(self.owner_ids)


def new_versions(ids: set[int]) -> None:
    try:
        cache.set_many({_version_key(owner_id): secrets.token_hex(8) for owner_id in ids}, timeout=None)
    except CACHE_ERRORS:
        # The write stands (an upload while Redis restarts keeps its photo). Values kept
        # before it may be served until they expire, if the cache comes back with them.
        logger.warning("Library cache unreachable: values of owners %s may be up to %s s old", ids, VALUE_SECONDS)


def version(owner_id: int) -> str:
    key = _version_key(owner_id)
    return cache.get(key) or _first_version(key)


def _first_version(key: str) -> str:
    # Never written, or evicted: any token that no value was kept with.
    cache.add(key, secrets.token_hex(8), timeout=None)
    return cache.get(key)


MISSING = object()


class Slot:
    """Where one value derived from the owner's library is kept, with the version it was derived
    from: `get` reads the version now (before the caller reads the data the value comes from)
    and the kept value in one round trip, and gives the value only if it is of that version;
    `keep` keeps a value with the version `get` read."""

    def __init__(self, owner_id: int | None, name: str) -> None:
        # None inside a transaction: nothing is read or kept there.
        self.version_key = _version_key(owner_id) if owner_id is not None else None
        self.key = f"{self.version_key}:{SHAPE}:{name}"
        self.version: str | None = None

    def get(self, default=MISSING):
        if self.version_key is None:
            return default
        try:
            found = cache.get_many([self.version_key, self.key])
            self.version = found.get(self.version_key) or _first_version(self.version_key)
        except CACHE_ERRORS:  # unreachable: the page computes its values
            return default
        kept = found.get(self.key)
        return kept[1] if kept is not None and kept[0] == self.version else default

    def keep(self, value) -> None:
        if self.version is not None:
            with contextlib.suppress(CACHE_ERRORS):
                cache.set(self.key, (self.version, value), VALUE_SECONDS)


def slot(owner_id: int, name: str) -> Slot:
    """The slot of a value derived from the owner's library (its `get` before reading the data).

    Inside a transaction there is none: the transaction sees its own writes, which others do
    not see yet, and which a rollback (no hook tells us of one) would take back."""
    return Slot(None if _in_transaction() else owner_id, name)


def cached(owner_id: int, name: str, compute: Callable[[], T]) -> T:
    """compute() of the owner's library as it is now, from the cache when nothing changed since."""
    place = slot(owner_id, name)
    value = place.get()
    if value is MISSING:
        value = compute()
        place.keep(value)
    return value


def _in_transaction() -> bool:
    # A test case's own atomic block is not one: the test's writes are the only ones it reads
    # (Django's check of a durable block reads it the same way).
    return any(not block._from_testcase for block in connection.atomic_blocks)


# The owners of the rows a bulk_update writes, while it writes them.
_KNOWN_OWNERS: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar("library_owners", default=None)


class LibraryQuerySet(models.QuerySet):
    """Bulk writes mark the owners of the rows they touch changed."""

    def _owner_ids(self) -> set[int]:
        """The owners of the rows: from the filter when it names one (for_user, owner=...: no
        query), else read."""
        known = _KNOWN_OWNERS.get()
        if known is not None:
            return known
        where = self.query.where
        if where.connector == AND and not where.negated:
            for lookup in where.children:
                target = getattr(getattr(lookup, "lhs", None), "target", None)
                if target is None or target.model is not self.model or target.attname != "owner_id":
                    continue
                if isinstance(lookup, Exact) and isinstance(lookup.rhs, int):
                    return {lookup.rhs}
                if (
                    isinstance(lookup, In)
                    and isinstance(lookup.rhs, (list, tuple, set))
                    and all(isinstance(owner_id, int) for owner_id in lookup.rhs)
                ):
                    return set(lookup.rhs)
        return set(self.order_by().values_list("owner_id", flat=True).distinct())

    def update(self, **kwargs) -> int:
        owners = self._owner_ids()  # before: the update may move rows out of the filter
        rows = super().update(**kwargs)
        if rows:
            changed(owners)
        return rows

    update.alters_data = True

    def delete(self):
        owners = self._owner_ids()
        result = super().delete()
        if result[0]:
            changed(owners)
        return result

    delete.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        changed(obj.owner_id for obj in objs)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        # Its update() calls are told the objects' owners: no query more inside the caller's
        # transaction (and no owner filter added to its UPDATE, which made MariaDB lock a
        # range of the owner index: deadlocks under concurrent refreshes).
        objs = list(objs)
        token = _KNOWN_OWNERS.set({obj.owner_id for obj in objs})
        try:
            return super().bulk_update(objs, fields, *args, **kwargs)
        finally:
            _KNOWN_OWNERS.reset(token)


class LibraryModel(models.Model):
    """Saving or deleting one row marks its owner's library changed."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        changed([self.owner_id])

    def delete(self, *args, **kwargs):
        owner_id = self.owner_id
        result = super().delete(*args, **kwargs)
        changed([owner_id])
        return result
