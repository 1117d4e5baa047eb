"""Requests of one person (or two) at the same moment, as N gunicorn workers would serve them
(issue 15 §2, §5) [T].

Real threads, each with its own database connection and its own test client; the session,
the rate-limit counters and the code-attempt counters are the real ones (MariaDB, Redis).
A barrier holds the requests at the point under test until all of them are there, so the
interleaving that used to go wrong happens every time, not by luck.
"""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from accounts.tests.flows import CODE_RE, enter_code, enter_password, is_signed_in, last_code
from gallery.tests.threads import Runner

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "carol-password-5678"
BARRIER_SECONDS = 3
SIGNUP = {
    "email": "erin@example.com",
    "display_name": "Erin",
    "password1": "erin-secret-24680",
    "password2": "erin-secret-24680",
}


class Meeting:
    """Wraps `owner.attribute` so that `parties` threads wait for each other inside it.

    A thread that does not arrive (the fix turned it away earlier) breaks the barrier after
    BARRIER_SECONDS; the others then go on alone."""

    def __init__(self, monkeypatch, owner, attribute: str, parties: int) -> None:
        self.barrier = threading.Barrier(parties)
        self.arrived = 0
        real = getattr(owner, attribute)
        meeting = self

        def wrapper(*args, **kwargs):
            meeting.arrived += 1
            try:
                meeting.barrier.wait(BARRIER_SECONDS)
            except threading.BrokenBarrierError:
                pass
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, attribute, wrapper)


def _client_of(session_cookie) -> Client:
    """Another browser tab of the same person: same session cookie."""
    client = Client()
    client.cookies[session_cookie.key] = session_cookie.value
    return client


# §2: wrong sign-in codes in parallel ---------------------------------------------------------


def test_wrong_codes_sent_at_once_do_not_get_past_the_three_tries(carol, monkeypatch):
    browser = Client()
    enter_password(browser, carol.email, PASSWORD)
    code = last_code(carol.email)
    cookie = browser.cookies["sessionid"]
    # Every request reads the session's failure count before any of them writes it back.
    import allauth.account.forms

    meeting = Meeting(monkeypatch, allauth.account.forms, "compare_user_code", parties=4)

    guesses = [Runner(f"guess-{n}", lambda: enter_code(_client_of(cookie), "BBBB-CCCC")) for n in range(4)]
    for guess in guesses:
        guess.start()
    answers = [guess.join_checked() for guess in guesses]

    # At most two of them may say "try again"; the third wrong code ends the sign-in.
    assert sum(1 for a in answers if a.status_code == 200) <= 2, [a.status_code for a in answers]
    assert meeting.arrived <= 3
    response = enter_code(browser, code)
    assert not is_signed_in(browser)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_the_right_code_still_works_after_two_wrong_ones_sent_at_once(carol, monkeypatch):
    browser = Client()
    enter_password(browser, carol.email, PASSWORD)
    code = last_code(carol.email)
    cookie = browser.cookies["sessionid"]
    import allauth.account.forms

    Meeting(monkeypatch, allauth.account.forms, "compare_user_code", parties=2)
    guesses = [Runner(f"guess-{n}", lambda: enter_code(_client_of(cookie), "BBBB-CCCC")) for n in range(2)]
    for guess in guesses:
        guess.start()
    assert [g.join_checked().status_code for g in guesses] == [200, 200]

    response = enter_code(browser, code)

    assert response.status_code == 302 and response["Location"] == "/photos/"
    assert is_signed_in(browser)


def test_wrong_sign_up_codes_sent_at_once_do_not_get_past_the_three_tries(monkeypatch):
    # The same count, the same race, on the code that verifies a new account's address.
    browser = Client()
    browser.post("/accounts/signup/", SIGNUP)
    code = last_code(SIGNUP["email"])
    cookie = browser.cookies["sessionid"]
    import allauth.account.forms

    meeting = Meeting(monkeypatch, allauth.account.forms, "compare_user_code", parties=4)
    guesses = [
        Runner(f"guess-{n}", lambda: _client_of(cookie).post("/accounts/confirm-email/", {"code": "BBBB-CCCC"}))
        for n in range(4)
    ]
    for guess in guesses:
        guess.start()
    answers = [guess.join_checked() for guess in guesses]

    assert sum(1 for a in answers if a.status_code == 200) <= 2, [a.status_code for a in answers]
    assert meeting.arrived <= 3
    browser.post("/accounts/confirm-email/", {"code": code})
    assert not is_signed_in(browser)
    assert not User.objects.get(email=SIGNUP["email"]).emailaddress_set.get().verified


# §5: the same new address signed up twice at once --------------------------------------------


def _signups_at_once(monkeypatch, browsers: list[Client]):
    from accounts.adapter import AccountAdapter

    # Both requests passed allauth's "is the address taken?" check; both now insert.
    Meeting(monkeypatch, AccountAdapter, "save_user", parties=len(browsers))
    signups = [Runner(f"signup-{n}", lambda b=b: b.post("/accounts/signup/", SIGNUP)) for n, b in enumerate(browsers)]
    for signup in signups:
        signup.start()
    return [s.join_checked() for s in signups]


def _erins_mails() -> list[str]:
    return [m.body for m in mail.outbox if SIGNUP["email"] in m.to]


def test_the_same_new_address_signed_up_at_once_in_two_browsers_is_one_account_and_no_error(monkeypatch):
    answers = _signups_at_once(monkeypatch, [Client(), Client()])

    assert [(a.status_code, a["Location"]) for a in answers] == [(302, "/accounts/confirm-email/")] * 2
    user = User.objects.get(email__iexact=SIGNUP["email"])
    assert user.emailaddress_set.count() == 1 and user.display_name == "Erin"
    # The address gets its code, once, and no "account already exists" mail about itself.
    assert len(_erins_mails()) == 1 and CODE_RE.search(_erins_mails()[0])


def test_a_double_click_on_sign_up_keeps_the_mailed_code_working(monkeypatch):
    browser = Client()
    browser.session.save()  # an earlier visit: both clicks carry the same session cookie
    tab = _client_of(browser.cookies["sessionid"])

    answers = _signups_at_once(monkeypatch, [browser, tab])

    assert [(a.status_code, a["Location"]) for a in answers] == [(302, "/accounts/confirm-email/")] * 2
    assert len(_erins_mails()) == 1
    response = browser.post("/accounts/confirm-email/", {"code": last_code(SIGNUP["email"])})
    assert response.status_code == 302
    assert is_signed_in(browser)
    assert User.objects.get(email=SIGNUP["email"]).emailaddress_set.get().verified
