from django.core.management.base import BaseCommand

from gallery.services import photos_requeue_stuck


class Command(BaseCommand):
    help = "Queue again the photos whose processing task was lost (what the periodic sweeper does)."

    def handle(self, *args, **options) -> None:
        result = photos_requeue_stuck()
        self.stdout.write(f"Re-queued {result['requeued']} stuck photo(s).")
