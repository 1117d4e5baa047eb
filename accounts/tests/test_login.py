"""Sign-in is a password, then a one-time code mailed to the address (ASVS 6.5/6.6)."""

import pytest
from django.core import mail
from django.test import Client
from freezegun import freeze_time

from accounts.tests.flows import enter_code, enter_password, is_signed_in, last_code, sign_in

PASSWORD = "carol-password-5678"


def test_it_signs_in_with_password_then_the_mailed_code(client, carol):
    response = enter_password(client, carol.email, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/confirm/"
    assert not is_signed_in(client)
    assert mail.outbox[-1].to == [carol.email]

    response = enter_code(client, last_code(carol.email))

    assert response.status_code == 302
    assert response["Location"] == "/photos/"
    assert client.session["_auth_user_id"] == str(carol.pk)


def test_the_code_page_is_our_layout(client, carol):
    enter_password(client, carol.email, PASSWORD)

    page = client.get("/accounts/login/code/confirm/").content.decode()

    assert 'class="brand"' in page and "/static/css/app.css" in page
    assert 'autocomplete="one-time-code"' in page


def test_a_wrong_password_sends_no_code(client, carol):
    response = enter_password(client, carol.email, "not-her-password")

    assert response.status_code == 200
    assert mail.outbox == []
    assert not is_signed_in(client)


def test_a_wrong_code_does_not_sign_in(client, carol):
    enter_password(client, carol.email, PASSWORD)

    response = enter_code(client, "BBBB-CCCC")

    assert response.status_code == 200
    assert not is_signed_in(client)


def test_three_wrong_codes_kill_the_code(client, carol):
    enter_password(client, carol.email, PASSWORD)
    code = last_code()
    for _ in range(3):
        response = enter_code(client, "BBBB-CCCC")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"

    response = enter_code(client, code)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not is_signed_in(client)


def test_an_expired_code_is_rejected(client, carol):
    with freeze_time() as clock:
        enter_password(client, carol.email, PASSWORD)
        code = last_code()
        clock.tick(181)

        response = enter_code(client, code)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not is_signed_in(client)


def test_a_code_still_works_within_its_lifetime(client, carol):
    with freeze_time() as clock:
        enter_password(client, carol.email, PASSWORD)
        clock.tick(170)

        enter_code(client, last_code())

    assert is_signed_in(client)


def test_a_used_code_cannot_be_used_again(client, carol):
    sign_in(client, carol.email, PASSWORD)
    code = last_code()
    client.post("/accounts/logout/")

    response = enter_code(client, code)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not is_signed_in(client)


def test_a_code_from_one_browser_does_not_work_in_another(client, carol):
    enter_password(client, carol.email, PASSWORD)
    code = last_code()
    attacker = Client()
    enter_password(attacker, carol.email, "a-guess-1234")

    response = enter_code(attacker, code)

    assert response.status_code == 302
    assert not is_signed_in(attacker)


def test_a_code_for_another_sign_in_of_the_same_user_is_rejected(client, carol):
    other = Client()
    enter_password(other, carol.email, PASSWORD)
    first = last_code()
    enter_password(client, carol.email, PASSWORD)
    if last_code() == first:  # one chance in 20^8
        pytest.skip("both codes happen to be equal")

    response = enter_code(client, first)

    assert response.status_code == 200
    assert not is_signed_in(client)


def test_a_new_code_can_be_requested_and_the_old_one_dies(client, carol):
    enter_password(client, carol.email, PASSWORD)
    old = last_code()

    response = client.post("/accounts/login/code/confirm/", {"action": "resend"})

    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new = last_code()
    if new != old:
        assert enter_code(client, old).status_code == 200
    enter_code(client, new)
    assert is_signed_in(client)


def test_requesting_new_codes_is_throttled(client, carol):
    enter_password(client, carol.email, PASSWORD)
    client.post("/accounts/login/code/confirm/", {"action": "resend"})

    response = client.post("/accounts/login/code/confirm/", {"action": "resend"})

    assert response.status_code == 429
    assert len(mail.outbox) == 2


def test_resends_are_spaced_out_and_capped(client, carol):
    with freeze_time() as clock:
        enter_password(client, carol.email, PASSWORD)
        for _ in range(4):
            clock.tick(21)
            client.post("/accounts/login/code/confirm/", {"action": "resend"})

    # The first mail plus allauth's two resends per sign-in, however patient the requester.
    assert len(mail.outbox) == 3


def test_the_session_key_changes_at_sign_in(client, carol):
    client.get("/accounts/login/")
    enter_password(client, carol.email, PASSWORD)
    before = client.session.session_key

    enter_code(client, last_code())

    assert is_signed_in(client)
    assert client.session.session_key != before


def test_an_unverified_address_is_verified_by_the_sign_in_code(client, db):
    from allauth.account.models import EmailAddress

    from accounts.models import User

    user = User.objects.create_user("erin@example.com", "erin-password-2468")

    sign_in(client, user.email, "erin-password-2468")

    assert EmailAddress.objects.get(user=user, email=user.email).verified
