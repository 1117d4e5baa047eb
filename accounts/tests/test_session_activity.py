"""Session activity ("last seen") is recorded at most once a minute per session
(accounts.middleware.ThrottledUserSessionsMiddleware; measured in docs/BENCHMARKS.md, Web)."""

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.middleware import _cache_key
from accounts.tests.flows import sign_in

PASSWORD = "carol-password-5678"


def _row(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def _age(client: Client) -> None:
    """Pretend the last recorded activity is an hour old and the minute has passed."""
    UserSession.objects.filter(session_key=client.session.session_key).update(
        last_seen_at=timezone.now() - timedelta(hours=1)
    )
    cache.delete(_cache_key(client.session.session_key))


def test_activity_is_recorded_once_then_not_again_within_the_minute(client, carol):
    sign_in(client, carol.email, PASSWORD)
    _age(client)

    client.get("/accounts/settings/")
    first = _row(client).last_seen_at
    assert timezone.now() - first < timedelta(minutes=1)

    UserSession.objects.filter(pk=_row(client).pk).update(last_seen_at=first - timedelta(seconds=30))
    with CaptureQueriesContext(connection) as queries:
        client.get("/accounts/settings/")
    assert _row(client).last_seen_at == first - timedelta(seconds=30)
    assert not any("usersessions_usersession" in q["sql"] for q in queries.captured_queries)


def test_activity_is_recorded_again_after_the_minute_with_the_new_browser(client, carol):
    sign_in(client, carol.email, PASSWORD)
    _age(client)

    client.get("/accounts/settings/", HTTP_USER_AGENT="NewBrowser/2.0")

    row = _row(client)
    assert timezone.now() - row.last_seen_at < timedelta(minutes=1)
    assert row.user_agent == "NewBrowser/2.0"


def test_each_session_is_throttled_on_its_own(carol):
    first, second = Client(), Client()
    sign_in(first, carol.email, PASSWORD)
    sign_in(second, carol.email, PASSWORD)
    _age(first)
    _age(second)

    first.get("/accounts/settings/")
    second.get("/accounts/settings/")

    assert timezone.now() - _row(first).last_seen_at < timedelta(minutes=1)
    assert timezone.now() - _row(second).last_seen_at < timedelta(minutes=1)


def test_anonymous_requests_record_nothing(client, db):
    with CaptureQueriesContext(connection) as queries:
        client.get("/accounts/login/")
    assert not any("usersessions_usersession" in q["sql"] for q in queries.captured_queries)


def test_pages_still_work_while_the_cache_is_down(client, carol, monkeypatch):
    """Redis stopped (catalogue D2): the activity is not recorded, the page is served."""
    redis_errors = pytest.importorskip("redis.exceptions")
    sign_in(client, carol.email, PASSWORD)
    _age(client)

    def down(*args, **kwargs):
        raise redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(cache, "add", down)
    assert client.get("/accounts/settings/").status_code == 200
    assert timezone.now() - _row(client).last_seen_at > timedelta(minutes=30)  # not recorded
