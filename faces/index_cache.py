"""The per-user index cache: which faces vouch for a person, and the index built from them.

The database is the source of truth; each user's FAISS index (faces/index.py) is a cache of
their reference faces, recorded in RecognitionIndex (labels version, checksum, model). Label
services call `labels_changed`; `get_index` returns a current index from this process's
memory, else this machine's file if it verifies against the record, else a fresh build.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from faces import index as face_index
from faces.models import Face, RecognitionIndex
from faces.recognition_model import RecognitionModel, current_model, decode_vectors

logger = logging.getLogger(__name__)


def reference_faces(owner_id: int, model_id: str):
    """The faces the index is built from: confirmed and automatically named faces of live
    persons, of the current model and good enough to vouch for a person. Automatic names
    vote only as secondary evidence (faces/matching.py, SECONDARY_VOTES)."""
    return Face.objects.filter(
        owner_id=owner_id,
        state__in=[Face.State.CONFIRMED, Face.State.AUTO],
        person__isnull=False,
        person__deleted_at__isnull=True,
        recognisable=True,
        embedding__isnull=False,
        model_id=model_id,
        size_px__gte=settings.SMARTGALLERY_INDEX_MIN_FACE_PX,
        frontalness__gte=settings.SMARTGALLERY_INDEX_MIN_FRONTALNESS,
    )


def index_record(owner_id: int) -> RecognitionIndex:
    record, _ = RecognitionIndex.objects.get_or_create(owner_id=owner_id)
    return record


def labels_changed(owner_id: int) -> None:
    """Mark the owner's index stale: every label-changing service calls this."""
    index_record(owner_id)
    RecognitionIndex.objects.filter(owner_id=owner_id).update(labels_version=F("labels_version") + 1)


# Indexes loaded by this process, by owner: reused while the database says they are current.
# Bounded by bytes, not by count: one worker serves many users whose indexes range from a few
# KiB to hundreds of MiB (16 users of 300,000 faces would hold ~5 GB).

# A loaded index holds its file's bytes plus, per face, FAISS's id map (IndexIDMap2 keeps a
# hash table of ids) and the face-id array: measured 52-56 bytes per face at 128 and 512
# dimensions (docs/BENCHMARKS.md, "Many users on one worker").
HELD_BYTES_PER_FACE = 56


@dataclass(frozen=True)
class LoadedIndex:
    checksum: str
    index: face_index.FaceIndex
    nbytes: int


class LoadedIndexes:
    """Loaded indexes by owner, least recently used first, within `max_bytes()` in all.

    The index put last always stays, even alone above the budget: it is the one in use (its
    memory is held while the photo is matched anyway) and the user's next photo wants it
    again; the others go, least recently used first. The budget is read on every put, so a
    changed setting applies at once."""

    def __init__(self, max_bytes: Callable[[], int]) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[int, LoadedIndex] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0

    def get(self, owner_id: int) -> LoadedIndex | None:
        with self._lock:
            entry = self._entries.get(owner_id)
            if entry is not None:
                self._entries.move_to_end(owner_id)
            return entry

    def put(self, owner_id: int, checksum: str, index: face_index.FaceIndex, nbytes: int) -> None:
        with self._lock:
            previous = self._entries.pop(owner_id, None)
            if previous is not None:
                self.nbytes -= previous.nbytes
            self._entries[owner_id] = LoadedIndex(checksum, index, nbytes)
            self.nbytes += nbytes
            limit = self._max_bytes()
            evicted = []
            while self.nbytes > limit and len(self._entries) > 1:
                evicted.append(self._entries.popitem(last=False)[1])
                self.nbytes -= evicted[-1].nbytes
        if evicted:
            del evicted  # the last references: FAISS frees the indexes here
            release_freed_memory()

    def owners(self) -> list[int]:
        """Least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0


def _libc_malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc: nothing to ask


_malloc_trim = _libc_malloc_trim()


def release_freed_memory() -> None:
    """Give memory freed by evicted indexes back to the system. glibc serves allocations up to
    32 MiB from its heap once a chunk that size was freed, and keeps what is freed there, so a
    worker cycling through many users' indexes stays near its high-water mark (measured: 506
    MiB at the end of a run without this, 442 MiB with it; docs/BENCHMARKS.md)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


_loaded = LoadedIndexes(lambda: settings.SMARTGALLERY_INDEX_CACHE_MB * 2**20)


def forget_loaded_indexes() -> None:
    _loaded.clear()


def _remember(owner_id: int, checksum: str, index: face_index.FaceIndex, path: Path) -> None:
    _loaded.put(owner_id, checksum, index, path.stat().st_size + HELD_BYTES_PER_FACE * index.ntotal)


def build_index(owner_id: int, model: RecognitionModel | None = None) -> face_index.FaceIndex:
    """Build the owner's index from the database, write this machine's copy, record it.

    The labels version is read *before* the faces, so a build is never older than the version
    it records. The record only moves forward (built_version < target); when another build of
    the same version recorded a different checksum (it read the faces before a concurrent
    change), ours is the fresher read and replaces it, so every machine converges on one file.
    """
    model = model or current_model()
    record = index_record(owner_id)
    target = record.labels_version
    rows = list(reference_faces(owner_id, model.model_id).order_by("id").values_list("id", "person_id", "embedding"))
    rows = [row for row in rows if len(row[2]) == model.dim * 4]
    kind = face_index.kind_for(len(rows), exact_max=settings.SMARTGALLERY_INDEX_EXACT_MAX)
    built = face_index.build(
        vectors=decode_vectors([row[2] for row in rows], model.dim),
        face_ids=np.array([row[0] for row in rows], dtype=np.int64),
        person_ids=np.array([row[1] for row in rows], dtype=np.int64),
        version=target,
        model_id=model.model_id,
        dim=model.dim,
        exact_max=settings.SMARTGALLERY_INDEX_EXACT_MAX,
        reuse=_previous_index(owner_id, record, model) if kind in face_index.REUSABLE_KINDS else None,
    )
    path = face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, owner_id)
    checksum = face_index.save(built, path)
    fields = {
        "built_version": target,
        "checksum": checksum,
        "model_id": model.model_id,
        "dimension": model.dim,
        "size": built.ntotal,
        "built_at": timezone.now(),
    }
    records = RecognitionIndex.objects.filter(owner_id=owner_id)
    recorded = records.filter(Q(built_version__lt=target) | Q(built_version=target, checksum="")).update(**fields)
    if not recorded:
        recorded = (
            records.filter(built_version=target).exclude(checksum=checksum, model_id=model.model_id).update(**fields)
        )
    if not recorded:
        # Our own records model changes too: a pack swap rebuilds even when the version is equal.
        recorded = records.filter(built_version__lte=target).exclude(model_id=model.model_id).update(**fields)
    logger.info("Built face index of user %s: version %s, %s faces, %s", owner_id, target, built.ntotal, built.kind)
    _remember(owner_id, checksum, built, path)
    return built


def _previous_index(owner_id: int, record: RecognitionIndex, model: RecognitionModel) -> face_index.FaceIndex | None:
    """The owner's last index, held in memory or this machine's verified file, if any: a build
    reuses its FAISS part when only person labels changed (face_index.build checks that)."""
    cached = _loaded.get(owner_id)
    if cached and cached.index.model_id == model.model_id:
        return cached.index
    if not record.checksum or record.model_id != model.model_id:
        return None
    try:
        return face_index.load(
            face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, owner_id),
            expected_sha256=record.checksum,
            expected_version=record.built_version,
            model_id=model.model_id,
        )
    except face_index.IndexUnusable:
        return None


def get_index(owner_id: int, model: RecognitionModel | None = None) -> face_index.FaceIndex:
    """The owner's current index: from memory, else this machine's file if it verifies against
    the database's record, else rebuilt from the database."""
    model = model or current_model()
    record = index_record(owner_id)
    if not record.checksum or record.built_version < record.labels_version or record.model_id != model.model_id:
        return build_index(owner_id, model)
    cached = _loaded.get(owner_id)
    if cached and cached.checksum == record.checksum and cached.index.version == record.built_version:
        return cached.index
    path = face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, owner_id)
    started = time.perf_counter()
    try:
        loaded = face_index.load(
            path, expected_sha256=record.checksum, expected_version=record.built_version, model_id=model.model_id
        )
    except face_index.IndexUnusable as exc:
        logger.warning("Face index of user %s unusable (%s): rebuilding from the database", owner_id, exc)
        return build_index(owner_id, model)
    logger.info(
        "Loaded face index of user %s from file: %s faces, %.1f MiB, %.0f ms",
        owner_id,
        loaded.ntotal,
        path.stat().st_size / 2**20,
        (time.perf_counter() - started) * 1000,
    )
    _remember(owner_id, record.checksum, loaded, path)
    return loaded
