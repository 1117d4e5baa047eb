"""manage.py reprocess [--user EMAIL] (--missing | --all): detect faces again.

Photos are queued through the photo pipeline (gallery.tasks.photo_process); it keeps every
face the user decided on (confirmed, named, not-a-face) and re-matches the rest.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.models import User
from gallery import services as gallery_services
from gallery.models import Photo


class Command(BaseCommand):
    help = "Queue photos for face detection again (confirmed faces are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="only this user's photos")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--missing",
            action="store_true",
            help="photos not processed by the current face model (new pack, failed, never done)",
        )
        which.add_argument("--all", action="store_true", help="every photo")

    def handle(self, *args, **options):
        photos = Photo.objects.exclude(status__in=[Photo.Status.QUEUED, Photo.Status.PROCESSING])
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"No user with email {options['user']!r}")
            photos = photos.filter(owner=user)
        if options["missing"]:
            from faces.engine_loader import get_engine

            model_id = get_engine().model_id
            photos = photos.filter(~Q(faces_model_id=model_id) | Q(status=Photo.Status.FAILED))
        photo_ids = list(photos.order_by("id").values_list("id", flat=True))
        total = len(photo_ids)
        step = gallery_services.REQUEUE_BATCH
        for start in range(0, total, step):
            gallery_services.photos_requeue(photo_ids=photo_ids[start : start + step])
            self.stdout.write(f"Queued {min(start + step, total)}/{total} photos")
        self.stdout.write(self.style.SUCCESS(f"Queued {total} photo(s) for face detection."))
