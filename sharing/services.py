"""Writes of sharing: invite, revoke, and linking an invitation to the account that proves it
owns the address. Keyword-only, one transaction each; views, the admin and the signal that
links invitations call these."""

from __future__ import annotations

import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from sharing.models import Share

logger = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


@transaction.atomic
def share_invite(*, owner, email: str, site_url: str) -> Share:
    """Let the account behind `email` read the owner's library, and mail the address.

    The answer is the same whether an account has that address or not: the share is made
    either way (it reaches an account that later signs up with the address), and only the mail,
    which goes to the invitee, differs. Refused: the owner's own address, and an address that
    already has a live share of this library (both known to the owner already)."""
    email = normalise_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError("Enter a valid email address.") from None
    if email == owner.email.lower() or EmailAddress.objects.filter(user=owner, email__iexact=email).exists():
        raise ValidationError("That is your own address: you see your library already.")
    if Share.objects.given_by(owner).filter(email=email, live=True).exists():
        raise ValidationError(f"You already share your library with {email}.")
    viewer = _verified_account(email, exclude=owner)
    try:
        with transaction.atomic():
            share = Share.objects.create(owner=owner, email=email, viewer=viewer)
    except IntegrityError:  # the same invitation sent twice at once: the other one won
        raise ValidationError(f"You already share your library with {email}.") from None
    transaction.on_commit(lambda: _mail_invitation(share, site_url=site_url), robust=True)
    return share


def _verified_account(email: str, *, exclude):
    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True, user__is_active=True)
        .exclude(user=exclude)
        .select_related("user")
        .first()
    )
    return address.user if address else None


def _mail_invitation(share: Share, *, site_url: str) -> None:
    context = {
        "owner_name": share.owner.get_full_name(),
        "owner_email": share.owner.email,
        "has_account": share.viewer_id is not None,
        "signup_open": settings.SMARTGALLERY_ALLOW_SIGNUP,
        "site_url": site_url.rstrip("/"),
        "email": share.email,
    }
    subject = render_to_string("sharing/email/invitation_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + " ".join(subject.split()),
        body=render_to_string("sharing/email/invitation_message.txt", context),
        to=[share.email],
    )
    message.attach_alternative(render_to_string("sharing/email/invitation_message.html", context), "text/html")
    message.send()


@transaction.atomic
def share_revoke(*, owner, share_id: int) -> Share:
    """Close the share now: the viewer's next request gets 404. Revoking a revoked share
    changes nothing; another owner's share raises Share.DoesNotExist."""
    share = Share.objects.given_by(owner).select_for_update().get(pk=share_id)
    if share.live:
        share.revoked_at, share.live = timezone.now(), None
        share.save(update_fields=["revoked_at", "live"])
    return share


def shares_link_pending(*, user, email: str) -> int:
    """Give `user`, who has just proven they own `email`, the live invitations to that
    address that no account had yet (never their own library's)."""
    return (
        Share.objects.filter(email=normalise_email(email), live=True, viewer__isnull=True)
        .exclude(owner=user)
        .update(viewer=user)
    )
