from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from gallery.services import photo_create
from gallery.validation import ImageRejected


class Command(BaseCommand):
    help = (
        "Import the photos of a folder for a user, exactly like uploads (same checks, storage, "
        "duplicate detection and processing queue). Safe to interrupt and run again: photos "
        "already imported are recognised by their content and skipped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--user", required=True, help="email of the owner")
        parser.add_argument("--recursive", action="store_true", help="also import sub-folders")

    def handle(self, *args, folder: Path, user: str, recursive: bool, **options) -> None:
        owner = get_user_model().objects.filter(email__iexact=user).first()
        if owner is None:
            raise CommandError(f"No user with email {user!r}")
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        paths = sorted(
            p for p in (folder.rglob("*") if recursive else folder.iterdir()) if p.is_file() and not p.is_symlink()
        )
        verbose = options["verbosity"] >= 2
        counts = {"imported": 0, "duplicate": 0, "rejected": 0}
        rejected: list[tuple[Path, str]] = []
        for number, path in enumerate(paths, start=1):
            try:
                with path.open("rb") as stream:
                    photo, created = photo_create(owner=owner, file=File(stream, name=path.name), filename=path.name)
            except ImageRejected as rejection:
                counts["rejected"] += 1
                rejected.append((path, rejection.message))
                outcome = "skipped"
            except OSError as error:
                counts["rejected"] += 1
                rejected.append((path, f"could not be read or stored: {error}"))
                outcome = "skipped"
            else:
                counts["imported" if created else "duplicate"] += 1
                outcome = "imported" if created else "duplicate"
            if verbose:
                self.stdout.write(f"[{number}/{len(paths)}] {outcome}: {path}")
            elif number % 25 == 0 or number == len(paths):
                self.stdout.write(
                    f"{number}/{len(paths)} files looked at", ending="\r" if number < len(paths) else "\n"
                )
                self.stdout.flush()
        for path, message in rejected:
            self.stdout.write(f"skipped {path}: {message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {counts['imported']}, already there {counts['duplicate']}, "
                f"skipped {counts['rejected']} (not a supported photo) of {len(paths)} file(s) "
                f"for {owner.email}. Faces are found in the background by the worker."
            )
        )
