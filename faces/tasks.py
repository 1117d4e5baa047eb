"""Celery tasks of the people work: thin wrappers named after what they call.

Both tasks run `recognition.people_refresh` (re-match the library, regroup the unnamed faces,
ask about groups); they differ in what schedules them and how long they wait: `index_rebuild`
2 s after a label change (the user waits to see it), `faces_regroup` after new photos, longer
and growing with the library (REGROUP_LOAD_FACTOR), so an import keeps its pace while each
photo's own faces already join groups as they arrive (recognition.recognise_photo).

Tasks take a user id only and read everything else from the database. Both are debounced:
`schedule_*` sets a flag in the shared cache with cache.add (atomic: only the first caller
of a burst wins) and enqueues one delayed task; the task clears the flag when it starts, so a
change that lands while it runs schedules exactly one more run and nothing is lost.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

# The flag outlives the delay by this much so a slow queue still sees one pending run; it
# expires on its own if the task was lost (broker down), so the next change schedules again.
FLAG_TTL_SECONDS = 120


def _flag(kind: str, owner_id: int) -> str:
    return f"faces:{kind}:{int(owner_id)}"


def _schedule(kind: str, task, owner_id: int, delay: float) -> bool:
    key = _flag(kind, owner_id)
    # A big library's regroup waits minutes: a flag shorter than the delay would let every photo
    # after it expires enqueue another full refresh while the first one is still waiting.
    if not cache.add(key, 1, timeout=delay + FLAG_TTL_SECONDS):
        return False
    try:
        task.apply_async(args=[int(owner_id)], countdown=delay)
    except (BrokerError, OSError):
        cache.delete(key)
        raise
    return True


def schedule_index_rebuild(owner_id: int) -> bool:
    """Enqueue one index rebuild for a burst of label changes; True if this call enqueued it.

    Call it after commit (services do, through transaction.on_commit)."""
    return _schedule("index-rebuild", index_rebuild, owner_id, settings.SMARTGALLERY_INDEX_REBUILD_DELAY)


# After photos, wait at least this many times as long as the last refresh of the user took:
# a refresh of a big library (seconds) then costs an import at most ~10 % of the worker.
REGROUP_LOAD_FACTOR = 10
LAST_DURATION_TTL_SECONDS = 24 * 3600


def schedule_faces_regroup(owner_id: int) -> bool:
    last = cache.get(_flag("refresh-seconds", owner_id)) or 0.0
    delay = max(settings.SMARTGALLERY_FACES_REGROUP_DELAY, REGROUP_LOAD_FACTOR * float(last))
    return _schedule("regroup", faces_regroup, owner_id, delay)


def schedule_regroup_after_photo(photo_id: int) -> None:
    """The photo pipeline's follow-up: new unknown faces of the photo join the unnamed groups.

    Never fails the photo: with the broker gone, the next photo or correction schedules it."""
    from faces.models import Face

    owner_id = Face.objects.filter(photo_id=photo_id, recognisable=True).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return
    try:
        schedule_faces_regroup(owner_id)
    except (BrokerError, OSError):
        logger.warning("Could not schedule the regrouping of user %s", owner_id, exc_info=True)


def _people_refresh(user_id: int) -> dict:
    from faces import recognition

    started = time.monotonic()
    counts = recognition.people_refresh(user_id)
    cache.set(_flag("refresh-seconds", user_id), time.monotonic() - started, timeout=LAST_DURATION_TTL_SECONDS)
    return dict(counts)


@shared_task(name="faces.tasks.index_rebuild")
def index_rebuild(user_id: int) -> dict:
    """After label changes: rebuild the user's index if needed, re-match, regroup."""
    from faces.models import RecognitionIndex

    cache.delete(_flag("index-rebuild", user_id))
    close_old_connections()
    if not RecognitionIndex.objects.filter(owner_id=user_id).exists():
        # The account is gone (or never labelled anything): nothing to rebuild.
        return {}
    return _people_refresh(user_id)


@shared_task(name="faces.tasks.faces_regroup")
def faces_regroup(user_id: int) -> dict:
    """After new photos: the same refresh, so their faces are regrouped and asked about."""
    from accounts.models import User

    cache.delete(_flag("regroup", user_id))
    close_old_connections()
    if not User.objects.filter(pk=user_id).exists():
        return {}
    return _people_refresh(user_id)


# A drawn face -------------------------------------------------------------------------------

DRAWN_RETRY_SECONDS = 30
DRAWN_MAX_RETRIES = 5


def schedule_drawn_face_measure(face_id: int) -> None:
    """After commit of faces.services.face_draw. A broker outage leaves the face unmeasured
    (shown as "being measured") until the photo is processed again, which measures it."""
    try:
        drawn_face_measure.delay(int(face_id))
    except (BrokerError, OSError):
        logger.warning("Could not schedule the measuring of drawn face %s", face_id, exc_info=True)


@shared_task(name="faces.tasks.drawn_face_measure", bind=True, max_retries=DRAWN_MAX_RETRIES)
def drawn_face_measure(self, face_id: int) -> str:
    """Embed a face the user drew (faces.drawing), then let it be matched and grouped."""
    from faces import drawing
    from faces.engine import FaceEngineError
    from faces.models import Face

    if not connection.in_atomic_block:  # (a test's transaction: closing would lose it)
        close_old_connections()
    try:
        outcome = drawing.drawn_face_measure(face_id=face_id)
    except FaceEngineError:
        # engine_loader logged why; the face waits, unmeasured, for a reprocess with a pack.
        logger.warning("Drawn face %s not measured: the face pack cannot be loaded", face_id)
        return "no face pack"
    except (OperationalError, InterfaceError, OSError) as exc:
        raise self.retry(countdown=DRAWN_RETRY_SECONDS, exc=exc) from exc
    owner_id = Face.objects.filter(pk=face_id).values_list("owner_id", flat=True).first()
    if owner_id is not None and outcome in ("measured", "reference"):
        try:
            if outcome == "reference":
                schedule_index_rebuild(owner_id)
            else:
                schedule_faces_regroup(owner_id)
        except (BrokerError, OSError):
            logger.warning("Could not schedule the refresh of user %s", owner_id, exc_info=True)
    return outcome


@shared_task(name="faces.tasks.drawn_faces_requeue_stuck")
def drawn_faces_requeue_stuck() -> dict[str, int]:
    """The sweeper's part for drawn faces (beat, with gallery.tasks.photos_requeue_stuck)."""
    from faces import drawing

    stuck = drawing.drawn_faces_stuck()
    for face_id in stuck:
        schedule_drawn_face_measure(face_id)
    if stuck:
        logger.info("Re-queued the measuring of %d drawn faces", len(stuck))
    return {"requeued": len(stuck)}
