"""Operators see every share and can revoke; they cannot make or edit one (invitations mail
the invitee and answer alike for every address: the owner's page only)."""

import pytest
from django.urls import reverse

from sharing.models import Share

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    from django_otp.plugins.otp_static.models import StaticDevice

    from accounts.models import User

    operator = User.objects.create_superuser("operator@example.com", "operator-password-1234")
    device = StaticDevice.objects.create(user=operator, name="test", confirmed=True)
    client.force_login(operator)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def test_operators_list_and_revoke_shares(operator_client, share, carol_client, alice_world):
    listing = operator_client.get(reverse("admin:sharing_share_changelist"))
    assert listing.status_code == 200 and "carol@example.com" in listing.content.decode()
    assert operator_client.get(reverse("admin:sharing_share_add")).status_code == 403
    response = operator_client.post(
        reverse("admin:sharing_share_changelist"), {"action": "revoke", "_selected_action": [share.id]}
    )
    assert response.status_code == 302
    share.refresh_from_db()
    assert share.revoked_at is not None and share.live is None
    assert carol_client.get(reverse("sharing:library", args=[share.id])).status_code == 404


def test_the_admin_needs_the_second_factor(client, share):
    from accounts.models import User

    operator = User.objects.create_superuser("operator@example.com", "operator-password-1234")
    client.force_login(operator)
    response = client.get(reverse("admin:sharing_share_changelist"))
    assert response.status_code == 302 and Share.objects.get(pk=share.pk).live
