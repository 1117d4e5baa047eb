"""Guessing is throttled per address and per client, in the shared cache (catalogue C1-C3, B11)."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from accounts.tests.flows import enter_password, is_signed_in

PASSWORD = "carol-password-5678"
TOO_MANY = "Too many failed login attempts"


def test_six_wrong_passwords_lock_the_address_even_for_the_right_one(client, carol):
    for _ in range(5):
        assert TOO_MANY not in enter_password(client, carol.email, "wrong-guess-0000").content.decode()

    response = enter_password(client, carol.email, PASSWORD)

    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert mail.outbox == []


def test_an_unknown_address_is_locked_the_same_way(client, db):
    for _ in range(5):
        enter_password(client, "nobody@example.com", "wrong-guess-0000")

    response = enter_password(client, "nobody@example.com", "wrong-guess-0000")

    assert TOO_MANY in response.content.decode()


def test_changing_ip_per_request_does_not_reset_the_address_limit(carol):
    for n in range(5):
        enter_password(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), carol.email, "wrong-guess-0000")

    response = enter_password(Client(REMOTE_ADDR="198.51.100.99"), carol.email, PASSWORD)

    assert TOO_MANY in response.content.decode()


def test_a_spoofed_forwarded_for_header_is_not_a_new_client(client, db):
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0
    # The per-IP limit (10/min) across ten different addresses and headers.
    for n in range(10):
        enter_password(client, f"user{n}@example.com", "wrong-guess-0000", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response = enter_password(client, "user99@example.com", "wrong-guess-0000", HTTP_X_FORWARDED_FOR="203.0.113.200")

    assert TOO_MANY in response.content.decode()


def test_a_successful_sign_in_does_not_wipe_earlier_failures(client, carol):
    for _ in range(4):
        enter_password(client, carol.email, "wrong-guess-0000")
    enter_password(Client(), carol.email, PASSWORD)  # the owner, elsewhere

    enter_password(client, carol.email, "wrong-guess-0000")
    response = enter_password(client, carol.email, "wrong-guess-0001")

    assert TOO_MANY in response.content.decode()


def test_password_reset_requests_are_limited_per_address(client, carol):
    for _ in range(5):
        assert client.post("/accounts/password/reset/", {"email": carol.email}).status_code == 302

    response = client.post("/accounts/password/reset/", {"email": carol.email})

    assert response.status_code == 429
    assert len(mail.outbox) == 5


def test_signups_are_limited_per_client(client, db):
    for n in range(20):
        client.post("/accounts/signup/", {"email": f"new{n}@example.com"})  # invalid on purpose

    response = client.post("/accounts/signup/", {"email": "new99@example.com"})

    assert response.status_code == 429


def test_admin_login_is_throttled(client, db):
    from accounts.models import User

    User.objects.create_user("admin@example.com", "admin-password-1357", is_staff=True)
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "admin@example.com", "password": "guess-0000"})
        assert response.status_code == 200

    response = client.post("/admin/login/", {"username": "admin@example.com", "password": "admin-password-1357"})

    assert response.status_code == 429
    assert not is_signed_in(client)


def test_admin_login_throttle_is_per_client_too(db):
    for n in range(10):
        Client().post("/admin/login/", {"username": f"a{n}@example.com", "password": "guess-0000"})

    response = Client().post("/admin/login/", {"username": "fresh@example.com", "password": "guess-0000"})

    assert response.status_code == 429


@pytest.mark.skipif(not settings.REDIS_URL, reason="only production-shaped runs have Redis")
def test_limits_live_in_redis_shared_by_every_process():
    assert isinstance(caches["default"], RedisCache)
