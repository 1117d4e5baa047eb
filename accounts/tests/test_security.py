"""Headers, redirects and CSRF on the account pages (catalogue B13, C9, C11)."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from accounts.tests.flows import enter_code, enter_password, last_code

PASSWORD = "carol-password-5678"
HTML_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
SIGNED_IN_PAGES = [
    "/accounts/settings/",
    "/accounts/delete/",
    "/accounts/password/change/",
    "/accounts/email/",
    "/accounts/sessions/",
]


def _check_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def _check_no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> would be blocked by our CSP"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "<style" not in html


@pytest.mark.parametrize("url", HTML_PAGES)
def test_public_pages_send_the_security_headers(client, db, url):
    response = client.get(url)

    assert response.status_code == 200
    _check_headers(response)
    _check_no_inline_code(response.content.decode())


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_account_pages_send_the_security_headers(alice_client, url):
    response = alice_client.get(url)

    assert response.status_code == 200
    _check_headers(response)
    _check_no_inline_code(response.content.decode())


def test_base_turns_off_htmx_inline_indicator_styles(client, db):
    html = client.get("/accounts/login/").content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html).group(1))
    assert config["includeIndicatorStyles"] is False
    # Nor does htmx copy style attributes while it settles a swap (an inline style the CSP blocks).
    assert "style" not in config["attributesToSettle"]


def test_the_session_cookie_is_httponly_and_samesite_lax(client, carol):
    enter_password(client, carol.email, PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


@pytest.mark.parametrize(
    "target", ["https://evil.example", "//evil.example", "javascript:alert(1)", "/\\evil.example", "https:evil.example"]
)
def test_sign_in_never_redirects_off_site(client, carol, target):
    client.post(f"/accounts/login/?next={target}", {"login": carol.email, "password": PASSWORD, "next": target})

    response = enter_code(client, last_code())

    assert response.status_code == 302
    assert response["Location"] == "/photos/"


def test_sign_in_follows_a_local_next(client, carol):
    client.post(
        "/accounts/login/?next=/accounts/settings/",
        {"login": carol.email, "password": PASSWORD, "next": "/accounts/settings/"},
    )

    response = enter_code(client, last_code())

    assert response["Location"] == "/accounts/settings/"


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "javascript:alert(1)"])
def test_logout_never_redirects_off_site(alice_client, target):
    response = alice_client.post("/accounts/logout/", {"next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_posts_without_a_csrf_token_are_refused(db, alice):
    browser = Client(enforce_csrf_checks=True)

    sign_in = {"login": alice.email, "password": "alice-password-1234"}
    assert browser.post("/accounts/login/", sign_in).status_code == 403
    assert browser.post("/accounts/signup/", {"email": "x@example.com"}).status_code == 403
    assert browser.post("/admin/login/", {"username": alice.email, "password": "x"}).status_code == 403
    browser.force_login(alice)
    assert browser.post("/accounts/delete/", {"password": "alice-password-1234"}).status_code == 403
    assert browser.post("/accounts/settings/", {"display_name": "Mallory"}, HTTP_HX_REQUEST="true").status_code == 403
    assert User.objects.filter(pk=alice.pk, display_name="Alice").exists()


def test_an_htmx_post_with_the_csrf_header_goes_through(db, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/accounts/settings/")  # sets the CSRF cookie, as the page does
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    response = browser.post(
        "/accounts/settings/", {"display_name": "Ally"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 200
    assert User.objects.get(pk=alice.pk).display_name == "Ally"
