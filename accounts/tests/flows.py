"""What a user does in a browser, as helpers for the accounts tests."""

import re

from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import User

CODE_RE = re.compile(r"\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\b")


def make_verified_user(email: str, password: str, **extra) -> User:
    user = User.objects.create_user(email, password, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def last_code(to: str | None = None) -> str:
    """The one-time code in the newest mail (to `to`, when given)."""
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, "no mail was sent"
    match = CODE_RE.search(messages[-1].body)
    assert match, messages[-1].body
    return match.group(1)


def enter_password(client: Client, email: str, password: str, **extra):
    return client.post("/accounts/login/", {"login": email, "password": password}, **extra)


def enter_code(client: Client, code: str, **extra):
    return client.post("/accounts/login/code/confirm/", {"code": code}, **extra)


def sign_in(client: Client, email: str, password: str) -> None:
    response = enter_password(client, email, password)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/confirm/", response
    response = enter_code(client, last_code(email))
    assert response.status_code == 302, response
    assert is_signed_in(client)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session
