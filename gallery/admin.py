from django.contrib import admin, messages

from gallery import services
from gallery.models import Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("id", "original_filename", "owner", "status", "faces_status", "attempts", "taken_at", "created_at")
    list_filter = ("status", "faces_status")
    search_fields = ("original_filename", "owner__email", "sha256")
    list_select_related = ("owner",)
    readonly_fields = [field.name for field in Photo._meta.fields]
    actions = ["retry_failed", "delete_with_files"]

    def has_add_permission(self, request) -> bool:
        return False  # photos come in through upload or import_photos, which validate them

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The built-in bulk delete would leave the files behind; ours goes through the service.
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj: Photo) -> None:
        services.photo_delete(photo=obj)

    # The owner sees a plain sentence (last_error); the operator reads error_detail here.
    @admin.action(description="Retry the selected failed photos (and those without faces)")
    def retry_failed(self, request, queryset) -> None:
        retried = sum(services.photo_retry(photo=photo) for photo in queryset)
        self.message_user(request, f"Queued {retried} photo(s) again.", messages.SUCCESS)

    @admin.action(description="Delete the selected photos and their files")
    def delete_with_files(self, request, queryset) -> None:
        count = 0
        for photo in queryset:
            services.photo_delete(photo=photo)
            count += 1
        self.message_user(request, f"Deleted {count} photo(s).", messages.SUCCESS)
