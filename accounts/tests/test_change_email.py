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
