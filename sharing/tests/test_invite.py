"""Inviting someone to a library (the Sharing page): the answer never tells whether an account
has the address; the invitee gets the mail; the owner's own address and a second invitation
are refused with a clear message."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.tests.flows import last_code, make_verified_user
from sharing.models import Share
from sharing.services import share_invite, share_revoke
from sharing.tests.conftest import hx

URL = "/sharing/"
CSRF = re.compile(r"(csrfmiddlewaretoken\" value=\"|x-csrftoken\": \")[^\"]+")

pytestmark = pytest.mark.django_db


def invite(client, email: str, *, htmx: bool = False):
    return client.post(URL, {"email": email}, **(hx() if htmx else {}))


def answer_text(response, email: str) -> str:
    """The page as the owner sees it, with the address and the per-response bits taken out."""
    text = response.content.decode().replace(email, "EMAIL")
    text = CSRF.sub(r"\1-", text)
    return re.sub(r"since \d+ \w+ \d{4}", "since DATE", text)


def test_the_sharing_page_is_reachable_from_the_account_page(alice_client):
    assert reverse("sharing:settings") in alice_client.get(reverse("account_settings")).content.decode()
    page = alice_client.get(URL)
    assert page.status_code == 200
    assert "Nobody yet" in page.content.decode()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_existing_account_and_a_free_address_get_the_same_answer(
    htmx, alice, alice_client, carol, django_capture_on_commit_callbacks
):
    EmailAddress.objects.create(user=carol, email=carol.email, verified=True, primary=True)
    answers = []
    for email in (carol.email, "nobody-here@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = invite(alice_client, email, htmx=htmx)
        if not htmx:
            assert response.status_code == 302 and response["Location"] == URL
            response = alice_client.get(URL)
        assert response.status_code == 200
        assert f"Invitation sent to {email}" in response.content.decode()
        answers.append((response.status_code, answer_text(response, email)))
    assert answers[0][0] == answers[1][0]
    # The second page lists both invitations: compare the answers up to the list.
    first, second = (text.split('id="shared-with"')[0] for _, text in answers)
    assert first == second
    shares = {s.email: s for s in Share.objects.filter(owner=alice)}
    assert shares[carol.email].viewer == carol
    assert shares["nobody-here@example.com"].viewer is None
    # The owner's list shows both alike: no "pending", no "accepted".
    listing = alice_client.get(URL).content.decode()
    assert listing.count("Stop sharing</button>") == 2
    assert "pending" not in listing.lower() and "accepted" not in listing.lower()


def test_the_invitee_gets_the_mail_and_the_owner_none(alice, alice_client, carol, django_capture_on_commit_callbacks):
    EmailAddress.objects.create(user=carol, email=carol.email, verified=True, primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        invite(alice_client, carol.email)
        invite(alice_client, "nobody-here@example.com")
    assert [m.to for m in mail.outbox] == [[carol.email], ["nobody-here@example.com"]]
    known, unknown = mail.outbox
    for message in (known, unknown):
        assert message.subject == "[SmartGallery] Alice shares their photos with you"
        assert "alice@example.com" in message.body
        assert message.alternatives and "alice@example.com" in message.alternatives[0][0]
    assert "Sign in with carol@example.com" in known.body
    assert "Create an account with this address" in unknown.body and "/accounts/signup/" in unknown.body


def test_an_address_that_signs_up_later_sees_the_library(
    alice, alice_client, alice_world, django_capture_on_commit_callbacks
):
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        invite(alice_client, "Dora@Example.com ")
    share = Share.objects.get(owner=alice)
    assert share.email == "dora@example.com" and share.viewer is None
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "dora@example.com",
            "display_name": "Dora",
            "password1": "dora-pass-9876-xyz",
            "password2": "dora-pass-9876-xyz",
        },
    )
    assert response.status_code == 302
    assert client.post("/accounts/confirm-email/", {"code": last_code("dora@example.com")}).status_code == 302
    share.refresh_from_db()
    assert share.viewer is not None and share.viewer.email == "dora@example.com"
    page = client.get(reverse("gallery:timeline")).content.decode()
    assert reverse("sharing:library", args=[share.id]) in page and "Alice’s library" in page
    assert client.get(reverse("sharing:library", args=[share.id])).status_code == 200


def test_an_unverified_account_is_not_given_the_library(alice, alice_client, django_capture_on_commit_callbacks):
    """Someone who typed the address at sign-up but never proved it gets nothing, and the mail
    goes to the address (whoever really owns it)."""
    from accounts.models import User

    squatter = User.objects.create_user("erin@example.com", "erin-password-1234")
    EmailAddress.objects.create(user=squatter, email=squatter.email, verified=False, primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        invite(alice_client, "erin@example.com")
    assert Share.objects.get(owner=alice).viewer is None


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_inviting_your_own_address_is_refused(htmx, alice, alice_client):
    EmailAddress.objects.create(user=alice, email="alice.work@example.com", verified=True)
    for email in ("alice@example.com", "ALICE@example.com", "alice.work@example.com"):
        response = invite(alice_client, email, htmx=htmx)
        assert response.status_code == 200
        assert "That is your own address" in response.content.decode()
    assert not Share.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_inviting_twice_is_refused_clearly(htmx, alice, alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(alice_client, "dora@example.com")
        response = invite(alice_client, "DORA@example.com", htmx=htmx)
    assert response.status_code == 200
    assert "You already share your library with dora@example.com." in response.content.decode()
    assert Share.objects.filter(owner=alice).count() == 1
    assert len(mail.outbox) == 1


def test_a_bad_address_is_refused(alice_client):
    for email in ("", "not-an-address", "a@b@c"):
        response = invite(alice_client, email)
        assert response.status_code == 200
        assert 'class="field-error"' in response.content.decode(), email
    assert not Share.objects.exists()


def test_inviting_again_after_a_revoke_makes_a_new_share(alice, carol, django_capture_on_commit_callbacks):
    first = share_invite(owner=alice, email=carol.email, site_url="http://testserver/")
    share_revoke(owner=alice, share_id=first.id)
    second = share_invite(owner=alice, email=carol.email, site_url="http://testserver/")
    assert second.id != first.id and second.live and not Share.objects.get(pk=first.id).live


def test_one_live_share_per_address_is_kept_by_the_database(alice):
    Share.objects.create(owner=alice, email="dora@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Share.objects.create(owner=alice, email="dora@example.com")
    # Revoked ones do not count, and live and revoked_at cannot disagree.
    Share.objects.filter(owner=alice).update(live=None, revoked_at=timezone.now())
    Share.objects.create(owner=alice, email="dora@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Share.objects.filter(owner=alice, live=True).update(revoked_at=timezone.now())


def test_invitations_are_rate_limited(alice_client):
    for n in range(20):
        assert invite(alice_client, f"person{n}@example.com").status_code == 302
    assert invite(alice_client, "one-too-many@example.com").status_code == 429
    assert Share.objects.count() == 20


def test_names_and_addresses_are_escaped_on_the_page_and_in_the_mail(
    alice, alice_client, django_capture_on_commit_callbacks
):
    from smartgallery.tests.world import XSS, XSS_ESCAPED

    alice.display_name = XSS
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        invite(alice_client, "dora@example.com")
    html = mail.outbox[0].alternatives[0][0]
    assert XSS not in html and XSS_ESCAPED in html
    assert "\n" not in mail.outbox[0].subject


def test_a_verified_user_is_never_linked_to_their_own_library(alice):
    from sharing.services import shares_link_pending

    share = Share.objects.create(owner=alice, email="alice.new@example.com")
    assert shares_link_pending(user=alice, email="alice.new@example.com") == 0
    share.refresh_from_db()
    assert share.viewer is None


def test_the_invitee_address_is_matched_whatever_its_case(alice):
    dora = make_verified_user("Dora@Example.com", "dora-password-1234")
    share = share_invite(owner=alice, email="dora@EXAMPLE.com", site_url="http://testserver/")
    assert share.viewer == dora
