from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"

    def ready(self) -> None:
        # Account deletion removes rows by CASCADE; the user's files go with them here.
        try:
            from accounts.deletion import register_user_data_cleanup
        except ImportError:  # account deletion not built yet
            return
        from gallery.services import photo_files_delete_for_user

        register_user_data_cleanup(photo_files_delete_for_user)
