"""Changing the address needs a code sent to the new one (ACCOUNT_CHANGE_EMAIL)."""

from allauth.account.models import EmailAddress

from accounts.models import User
from accounts.tests.flows import last_code, sign_in

PASSWORD = "carol-password-5678"


def test_the_new_address_replaces_the_old_once_its_code_is_entered(client, carol):
    sign_in(client, carol.email, PASSWORD)

    response = client.post("/accounts/email/", {"action_add": "", "email": "carol.new@example.com"})
    assert response.status_code == 302
    assert User.objects.get(pk=carol.pk).email == "carol@example.com"  # not before the code

    client.post("/accounts/confirm-email/", {"code": last_code("carol.new@example.com")})

    assert User.objects.get(pk=carol.pk).email == "carol.new@example.com"
    assert list(EmailAddress.objects.filter(user=carol).values_list("email", "verified", "primary")) == [
        ("carol.new@example.com", True, True)
    ]


def test_a_wrong_code_leaves_the_address_alone(client, carol):
    sign_in(client, carol.email, PASSWORD)
    client.post("/accounts/email/", {"action_add": "", "email": "carol.new@example.com"})

    client.post("/accounts/confirm-email/", {"code": "BBBB-CCCC"})

    assert User.objects.get(pk=carol.pk).email == "carol@example.com"


def _code_page(client) -> str:
    import re

    text = client.get("/accounts/confirm-email/").content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return (
        re.sub(r'x-csrftoken": "[^"]+"', "", text)
        .replace("dave@example.com", "EMAIL")
        .replace("free@example.com", "EMAIL")
    )


def test_adding_another_accounts_address_mails_that_address_nothing_and_looks_the_same(client, carol):
    from django.core import mail

    from accounts.tests.flows import make_verified_user

    make_verified_user("dave@example.com", "dave-password-1357")
    sign_in(client, carol.email, PASSWORD)
    client.get("/accounts/settings/")  # shows (and so clears) the sign-in messages
    mail.outbox.clear()

    taken = client.post("/accounts/email/", {"action_add": "", "email": "dave@example.com"})
    taken_page = _code_page(client)
    assert mail.outbox == []  # dave is never mailed because carol typed his address
    free = client.post("/accounts/email/", {"action_add": "", "email": "free@example.com"})

    assert (
        (taken.status_code, taken["Location"])
        == (free.status_code, free["Location"])
        == (
            302,
            "/accounts/confirm-email/",
        )
    )
    assert taken_page == _code_page(client)
    assert [m.to for m in mail.outbox] == [["free@example.com"]]
    assert list(EmailAddress.objects.filter(email="dave@example.com").values_list("user__email", flat=True)) == [
        "dave@example.com"
    ]
