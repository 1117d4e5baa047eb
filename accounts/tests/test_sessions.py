"""Sessions end when they should (ASVS 7.2.4, 7.4.1, 7.4.3)."""

from django.conf import settings
from django.test import Client

from accounts.tests.flows import is_signed_in, sign_in

PASSWORD = "carol-password-5678"


def test_logout_ends_the_session_so_a_replayed_cookie_is_useless(client, carol):
    sign_in(client, carol.email, PASSWORD)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post("/accounts/logout/")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = replay.get("/accounts/settings/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_get_to_logout_does_not_log_out(client, carol):
    sign_in(client, carol.email, PASSWORD)

    client.get("/accounts/logout/")

    assert is_signed_in(client)


def test_changing_the_password_ends_the_other_browsers_session(client, carol):
    sign_in(client, carol.email, PASSWORD)
    other = Client()
    sign_in(other, carol.email, PASSWORD)

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a-brand-new-secret-77", "password2": "a-brand-new-secret-77"},
    )

    assert response.status_code == 302
    assert client.get("/accounts/settings/").status_code == 200
    assert other.get("/accounts/settings/").status_code == 302


def test_the_sessions_page_lists_and_ends_other_sessions(client, carol):
    sign_in(client, carol.email, PASSWORD)
    other = Client(HTTP_USER_AGENT="OtherBrowser/1.0")
    sign_in(other, carol.email, PASSWORD)

    page = client.get("/accounts/sessions/")
    assert "OtherBrowser/1.0" in page.content.decode()

    client.post("/accounts/sessions/")

    assert client.get("/accounts/settings/").status_code == 200
    assert other.get("/accounts/settings/").status_code == 302
