"""Sharing a library, read-only, with other accounts.

A Share is an invitation by address: `email` is what the owner typed, `viewer` the account that
proved it owns that address (at the invitation if it already had, or later at its sign-up or
email change). The owner's list shows invitations by address, never whether an account
exists behind one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ShareQuerySet(models.QuerySet):
    def given_by(self, owner) -> "ShareQuerySet":
        """The owner's own invitations: the only way the Sharing page and revoke reach them."""
        if not owner.is_authenticated:
            return self.none()
        return self.filter(owner=owner)

    def opened_to(self, viewer) -> "ShareQuerySet":
        """Live shares whose library `viewer` may read now. Checked on every request and in
        every query of a shared page (sharing/selectors.py), never remembered."""
        if not viewer.is_authenticated:
            return self.none()
        return self.filter(viewer=viewer, live=True, owner__is_active=True)


class Share(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares_given")
    # Lower-cased, as typed by the owner.
    email = models.EmailField(max_length=254)
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="shares_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # True while live, NULL once revoked. Unique (owner, email, live) then allows one live
    # share per address and any number of revoked ones on every database (NULLs are distinct);
    # MariaDB does not enforce a conditional unique constraint (`revoked_at IS NULL`). The
    # check constraint keeps it in step with revoked_at.
    live = models.BooleanField(null=True, default=True, editable=False)

    objects = ShareQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "email", "live"], name="share_one_live_per_address"),
            models.CheckConstraint(
                condition=Q(live=True, revoked_at__isnull=True) | Q(live__isnull=True, revoked_at__isnull=False),
                name="share_live_until_revoked",
            ),
        ]
        indexes = [models.Index(fields=["viewer", "live"], name="share_viewer_live")]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "live"
        return f"{self.owner} → {self.email} ({state})"
