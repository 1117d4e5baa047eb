"""Nothing a stranger sees says whether an address has an account (ACCOUNT_PREVENT_ENUMERATION)."""

import re

from django.core import mail
from django.test import Client

from accounts.tests.flows import enter_password


def _page(response) -> str:
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return (
        re.sub(r'x-csrftoken": "[^"]+"', "", text)
        .replace("carol@example.com", "EMAIL")
        .replace("nobody@example.com", "EMAIL")
    )


def test_a_wrong_password_and_an_unknown_address_get_the_same_page(carol):
    known = enter_password(Client(), carol.email, "wrong-guess-0000")
    unknown = enter_password(Client(), "nobody@example.com", "wrong-guess-0000")

    assert known.status_code == unknown.status_code == 200
    assert _page(known) == _page(unknown)


def test_password_reset_answers_the_same_for_unknown_addresses(carol):
    known = Client().post("/accounts/password/reset/", {"email": carol.email})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # Each address gets one mail; only the owner's has a reset link.
    assert [m.to for m in mail.outbox] == [[carol.email], ["nobody@example.com"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body
