"""The admin needs staff status and a verified second factor (django-otp)."""

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.tests.flows import is_signed_in

ADMIN_PASSWORD = "admin-password-1357"


@pytest.fixture
def staff(db):
    return User.objects.create_user("admin@example.com", ADMIN_PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def device(staff):
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def current_token(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return str(totp.token()).zfill(device.digits)


def admin_login(client, device, token):
    return client.post(
        "/admin/login/?next=/admin/",
        {
            "username": device.user.email,
            "password": ADMIN_PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": token,
        },
    )


def test_staff_signed_in_without_a_verified_device_cannot_reach_the_admin(client, staff, device):
    client.force_login(staff)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_with_password_and_totp_token_reach_the_admin(client, device):
    response = admin_login(client, device, current_token(device))

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_token_keeps_the_admin_closed(client, device):
    wrong = str((int(current_token(device)) + 1) % 10**6).zfill(6)

    response = admin_login(client, device, wrong)

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_the_password_alone_does_not_open_the_admin(client, device):
    response = client.post("/admin/login/", {"username": device.user.email, "password": ADMIN_PASSWORD})

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_a_verified_non_staff_user_is_refused(client, db):
    user = User.objects.create_user("plain@example.com", ADMIN_PASSWORD)
    plain_device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    admin_login(client, plain_device, current_token(plain_device))

    assert client.get("/admin/").status_code == 302


def test_a_token_from_another_users_device_is_rejected(client, staff, db):
    other = User.objects.create_user("other@example.com", "other-password-2468", is_staff=True)
    other_device = TOTPDevice.objects.create(user=other, name="phone", confirmed=True)

    response = client.post(
        "/admin/login/",
        {
            "username": staff.email,
            "password": ADMIN_PASSWORD,
            "otp_device": other_device.persistent_id,
            "otp_token": current_token(other_device),
        },
    )

    assert response.status_code == 200
    assert not is_signed_in(client)


def test_enroll_totp_creates_a_device_and_prints_its_url(staff):
    out = io.StringIO()

    call_command("enroll_totp", "--email", staff.email, stdout=out)

    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed
    assert device.config_url in out.getvalue()
    assert "otpauth://totp/" in out.getvalue()


def test_enroll_totp_refuses_non_staff(db):
    User.objects.create_user("plain@example.com", "plain-password-2468")

    with pytest.raises(CommandError, match="not staff"):
        call_command("enroll_totp", "--email", "plain@example.com", stdout=io.StringIO())
    assert not TOTPDevice.objects.exists()
