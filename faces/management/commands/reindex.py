"""manage.py reindex [--user EMAIL | --all] [--sync]: rebuild reference indexes and re-match."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from faces import index_cache, recognition, recognition_model
from faces.tasks import index_rebuild


class Command(BaseCommand):
    help = "Rebuild users' face indexes from the database and re-match their faces."

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", metavar="EMAIL", help="one user, by email")
        who.add_argument("--all", action="store_true", help="every user with faces")
        parser.add_argument("--sync", action="store_true", help="do it here and now instead of queueing tasks")

    def handle(self, *args, **options):
        if options["user"]:
            users = list(User.objects.filter(email__iexact=options["user"]))
            if not users:
                raise CommandError(f"No user with email {options['user']!r}")
        else:
            users = list(User.objects.filter(faces__isnull=False).distinct().order_by("id"))
        model = recognition_model.current_model() if options["sync"] else None
        totals = {"users": 0, "reference_faces": 0, "auto": 0, "suggested": 0, "unknown": 0}
        for number, user in enumerate(users, start=1):
            # A forced rebuild: the version moves on, so every machine's copy is replaced too.
            index_cache.labels_changed(user.pk)
            if not options["sync"]:
                index_rebuild.delay(user.pk)
                self.stdout.write(f"[{number}/{len(users)}] {user.email}: queued")
                totals["users"] += 1
                continue
            counts = recognition.people_refresh(user.pk, model)
            size = index_cache.get_index(user.pk, model).ntotal
            totals["users"] += 1
            totals["reference_faces"] += size
            for state in ("auto", "suggested", "unknown"):
                totals[state] += counts.get(state, 0)
            self.stdout.write(
                f"[{number}/{len(users)}] {user.email}: {size} reference faces; "
                f"{counts.get('auto', 0)} auto, {counts.get('suggested', 0)} suggested, "
                f"{counts.get('unknown', 0)} unknown ({counts.get('changed', 0)} changed)"
            )
        if options["sync"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Rebuilt {totals['users']} index(es): {totals['reference_faces']} reference faces, "
                    f"{totals['auto']} auto, {totals['suggested']} suggested, {totals['unknown']} unknown."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Queued {totals['users']} index rebuild(s)."))
