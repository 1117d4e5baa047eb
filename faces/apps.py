from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "faces"

    def ready(self) -> None:
        from accounts.deletion import register_user_data_cleanup
        from faces.services import user_faces_delete

        register_user_data_cleanup(user_faces_delete)
