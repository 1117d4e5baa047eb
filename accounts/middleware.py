"""allauth's session activity tracking, at most once a minute per session.

allauth's UserSessionsMiddleware (USERSESSIONS_TRACK_ACTIVITY) writes the session's row on
every request: a transaction with a SELECT, a SELECT of the user and an UPDATE, i.e. a
committed write (a log flush) for every page and every thumbnail. bench/web.py measured it at
5 of the 9 queries of the photo grid and 4x the time of a thumbnail (docs/BENCHMARKS.md, Web).
"Last seen" to the minute is all the sessions page needs, so this middleware records the
activity the same way (allauth's own create_from_request, so a changed IP or browser is still
noticed and signalled) but only when the shared cache says this session was not recorded in
the last ACTIVITY_INTERVAL seconds. The cache is Redis in production, shared by all processes.
"""

import logging

from allauth.usersessions import app_settings
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.http import HttpRequest

try:
    from redis.exceptions import RedisError

    CACHE_ERRORS: tuple[type[Exception], ...] = (OSError, RedisError)
except ImportError:  # the embedded default runs without redis-py (file cache: OSError)
    CACHE_ERRORS = (OSError,)

logger = logging.getLogger(__name__)
ACTIVITY_INTERVAL = 60  # seconds


def _cache_key(session_key: str) -> str:
    return f"usersession-seen:{session_key}"


class ThrottledUserSessionsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if (
            app_settings.TRACK_ACTIVITY
            and hasattr(request, "session")
            and request.session.session_key
            and hasattr(request, "user")
            and request.user.is_authenticated
            and _due(request.session.session_key)
        ):
            UserSession.objects.create_from_request(request)
        return self.get_response(request)


def _due(session_key: str) -> bool:
    """Whether this request records the session's activity. With the cache down (Redis
    stopped) it does not: a "last seen" time is not worth failing every page for."""
    try:
        # add() is atomic: of concurrent requests, one records the activity.
        return cache.add(_cache_key(session_key), 1, ACTIVITY_INTERVAL)
    except CACHE_ERRORS as exc:
        logger.warning("Session activity not recorded, the cache is unavailable: %s", exc)
        return False
