"""Deleting an account removes its data through registered cleanups and ends its sessions (B12)."""

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client

from accounts.deletion import register_user_data_cleanup, unregister_user_data_cleanup
from accounts.models import User
from accounts.services import user_delete
from accounts.tests.flows import is_signed_in


@pytest.fixture
def cleanup_log(settings, tmp_path):
    """A stand-in for the gallery's cleanup: notes the call, removes a file after commit."""
    calls = []

    def cleanup(*, user):
        calls.append((user.email, User.objects.filter(pk=user.pk).exists()))
        path = tmp_path / f"{user.pk}.jpg"
        transaction.on_commit(lambda: path.unlink(missing_ok=True))

    register_user_data_cleanup(cleanup)
    yield calls
    unregister_user_data_cleanup(cleanup)


def test_the_delete_page_asks_for_the_password_and_deletes_nothing(alice_client, alice):
    response = alice_client.get("/accounts/delete/")

    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists()


def test_a_wrong_password_deletes_nothing_and_says_so(alice_client, alice, cleanup_log):
    response = alice_client.post("/accounts/delete/", {"password": "not-alice-1234"})

    assert response.status_code == 200
    assert "That is not your password. Nothing was deleted." in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists()
    assert cleanup_log == []
    assert is_signed_in(alice_client)


def test_the_right_password_deletes_the_user_after_every_cleanup(
    alice_client, alice, bob, cleanup_log, tmp_path, django_capture_on_commit_callbacks
):
    photo = tmp_path / f"{alice.pk}.jpg"
    photo.write_bytes(b"jpeg")

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/accounts/delete/", {"password": "alice-password-1234"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not User.objects.filter(pk=alice.pk).exists()
    assert cleanup_log == [("alice@example.com", True)]  # ran while the user still existed
    assert not photo.exists()
    assert not is_signed_in(alice_client)
    assert User.objects.filter(pk=bob.pk).exists()


def test_deleting_ends_the_users_other_sessions(alice_client, alice):
    other_browser = Client()
    other_browser.force_login(alice)
    assert other_browser.get("/accounts/settings/").status_code == 200

    alice_client.post("/accounts/delete/", {"password": "alice-password-1234"})

    assert other_browser.get("/accounts/settings/").status_code == 302
    assert not Session.objects.filter(session_key=other_browser.session.session_key).exists()


def test_a_failing_cleanup_deletes_nothing(alice):
    def broken(*, user):
        raise RuntimeError("storage unavailable")

    register_user_data_cleanup(broken)
    try:
        with pytest.raises(RuntimeError):
            user_delete(user=alice)
    finally:
        unregister_user_data_cleanup(broken)

    assert User.objects.filter(pk=alice.pk).exists()


def test_a_cleanup_is_registered_once(cleanup_log, alice):
    from accounts.deletion import user_data_cleanups

    register_user_data_cleanup(user_data_cleanups()[-1])

    user_delete(user=alice)

    assert len(cleanup_log) == 1


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.post("/accounts/delete/", {"password": "whatever-1234"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_get_never_deletes(alice_client, alice):
    alice_client.get("/accounts/delete/?password=alice-password-1234")

    assert User.objects.filter(pk=alice.pk).exists()
