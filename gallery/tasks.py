"""Celery tasks of the photo pipeline; thin shells over gallery.services.

Tasks take a photo id only; the owner always comes from the database row. Acknowledgement is
late and a task whose worker dies is re-queued (global settings), so every task here may run
more than once: the services make that harmless.
"""

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from faces.tasks import schedule_regroup_after_photo
from gallery import services
from gallery.models import Photo

logger = logging.getLogger(__name__)

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    REDIS_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
except ImportError:  # the embedded default runs without redis-py
    REDIS_ERRORS = ()

# Errors of the database, the storage or the cache that may be gone on the next try.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, *REDIS_ERRORS)
MAX_BACKOFF_SECONDS = 600
TIME_LIMIT = "Processing took longer than the time limit."


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: spreads retries of many photos after an outage."""
    base = settings.SMARTGALLERY_RETRY_BACKOFF_SECONDS
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempt - 1))  # noqa: S311 (jitter, not a secret)


# The limits are named on the task so they travel in each message (Celery puts a task's
# limits in its headers, and a worker obeys the message); the values are the global settings.
@shared_task(
    bind=True,
    max_retries=None,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def photo_process(self, photo_id: int) -> str:
    task_id = self.request.id
    # The owner reads `error` (a plain sentence); `detail` is for the admin and the log.
    try:
        outcome = services.photo_process(photo_id=photo_id, task_id=task_id)
    except SoftTimeLimitExceeded:
        error, detail = TIME_LIMIT, "SoftTimeLimitExceeded"
        exc: Exception | None = None
    except services.PhotoUnreadable as failure:
        services.photo_mark_failed(photo_id=photo_id, task_id=task_id, error=services.UNREADABLE, detail=str(failure))
        return "failed"
    except TRANSIENT_ERRORS as failure:
        error, detail = services.TEMPORARY_PROBLEM, f"{type(failure).__name__}: {failure}"
        exc = failure
    except Exception as failure:
        # A bug or a broken model pack: retrying would fail the same way. The details go to the
        # log and the admin; the owner sees a plain message (never a library's text: an OpenCV
        # assertion tells them nothing) and can retry once it is fixed.
        logger.exception("Processing photo %s failed", photo_id)
        services.photo_mark_failed(
            photo_id=photo_id,
            task_id=task_id,
            error=services.UNEXPECTED_FAILURE,
            detail=f"{type(failure).__name__}: {failure}",
        )
        return "failed"
    else:
        if outcome == "done":
            schedule_regroup_after_photo(photo_id)
        return outcome
    logger.warning("Photo %s: Temporary problem: %s", photo_id, detail)
    services.connection_refresh()
    if services.photo_release_for_retry(photo_id=photo_id, task_id=task_id, error=error, detail=detail):
        attempts = Photo.objects.filter(pk=photo_id).values_list("attempts", flat=True).first() or 1
        raise self.retry(countdown=retry_delay(attempts), exc=exc)
    return "failed"


@shared_task
def photos_requeue_stuck() -> dict[str, int]:
    return services.photos_requeue_stuck()


@shared_task
def photos_trash_purge() -> dict[str, int]:
    return services.photos_trash_purge()
