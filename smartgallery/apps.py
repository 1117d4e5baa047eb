from django.apps import AppConfig


class SmartGalleryConfig(AppConfig):
    """The project itself: no models, only what every process needs once Django has started."""

    name = "smartgallery"
    verbose_name = "SmartGallery"

    def ready(self) -> None:
        from django.conf import settings

        from smartgallery import embedded

        # Here, not in settings.py: importing the settings must not write to the disk.
        embedded.make_folders(settings)
