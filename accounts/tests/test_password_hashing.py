"""Passwords are stored with Argon2id at our measured cost; older hashes are upgraded (C8)."""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password

from accounts.hashers import Argon2idHasher
from accounts.models import User
from accounts.tests.flows import make_verified_user, sign_in

# The rest of the suite hashes with MD5 for speed (conftest.py); these tests are about the real thing.
pytestmark = pytest.mark.usefixtures("configured_password_hashers")

OUR_PREFIX = "argon2$argon2id$v=19$m=32768,t=3,p=1$"


def test_argon2id_with_our_costs_is_the_default_hasher():
    assert settings.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2idHasher"
    assert (Argon2idHasher.memory_cost, Argon2idHasher.time_cost, Argon2idHasher.parallelism) == (32768, 3, 1)


def test_new_passwords_are_stored_as_argon2id_with_our_parameters(db):
    user = User.objects.create_user("frank@example.com", "frank-password-1122")

    assert user.password.startswith(OUR_PREFIX)
    assert user.check_password("frank-password-1122")


def test_a_pbkdf2_hash_is_upgraded_at_sign_in(client, db):
    user = make_verified_user("gina@example.com", "unused-password-000")
    user.password = make_password("gina-password-3344", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    sign_in(client, user.email, "gina-password-3344")

    user.refresh_from_db()
    assert user.password.startswith(OUR_PREFIX)
    assert user.check_password("gina-password-3344")


def test_a_hash_with_djangos_default_argon2_costs_is_upgraded_at_sign_in(client, db):
    user = make_verified_user("hal@example.com", "unused-password-000")
    user.password = Argon2PasswordHasher().encode("hal-password-5566", Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])
    assert user.password.startswith("argon2$argon2id$v=19$m=102400,t=2,p=8$")

    sign_in(client, user.email, "hal-password-5566")

    user.refresh_from_db()
    assert user.password.startswith(OUR_PREFIX)
