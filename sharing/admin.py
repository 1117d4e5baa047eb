"""Operators see who shares with whom and can revoke; invitations are made by owners on their
Sharing page only (it mails the invitee and keeps the answer the same for every address)."""

from django.contrib import admin, messages

from sharing import services
from sharing.models import Share


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ("owner", "email", "viewer", "created_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("owner__email", "email", "viewer__email")
    list_select_related = ("owner", "viewer")
    readonly_fields = ("owner", "email", "viewer", "created_at", "revoked_at")
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected shares", permissions=["delete"])
    def revoke(self, request, queryset) -> None:
        count = 0
        for share in queryset.filter(live=True).select_related("owner"):
            services.share_revoke(owner=share.owner, share_id=share.pk)
            count += 1
        self.message_user(request, f"Revoked {count} share{'s' if count != 1 else ''}.", messages.SUCCESS)
