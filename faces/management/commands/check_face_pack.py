"""manage.py check_face_pack: can this machine find faces? `make run` asks before it serves.

Loads the pack SMARTGALLERY_FACE_PACK names, as a worker will (a pack name such as buffalo_l
is downloaded by InsightFace, with its progress bar, where the machine can reach GitHub). When
no pack loads it says in one paragraph how to point the setting at a pack folder. The gallery
runs either way (photos are shown; their faces wait for a pack and "Retry all failed"), so the
exit status is 0 unless --strict.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from faces import engine_loader
from faces.engine import PACK_SETTING, FaceEngineError, load_engine

# The small offline pack that sits beside the repository on our machines.
SHARED_PACK = Path(settings.BASE_DIR).parent / "shared" / "models" / "face_default"


class Command(BaseCommand):
    help = "Load the face pack the workers will use, and say how to fix it when it cannot be loaded."

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="exit with status 1 when no pack loads")

    def handle(self, *args, **options):
        try:
            # Not engine_loader.get_engine(): that logs the failure for a worker's log too, and
            # this command's paragraph says it all.
            engine = load_engine(**engine_loader.engine_options())
        except FaceEngineError as exc:
            self.stderr.write(self.style.WARNING(no_pack_paragraph(exc)))
            if options["strict"]:
                raise CommandError("No usable face pack.") from None
            return
        self.stdout.write(f"Face pack {engine.pack_name} loaded ({engine.model_id}, {engine.dim}-d embeddings).")


def no_pack_paragraph(exc: FaceEngineError) -> str:
    example = SHARED_PACK if SHARED_PACK.is_dir() else Path("/path/to/face_pack")
    problem = exc.problem
    if isinstance(exc.__cause__, OSError):
        # requests' errors are OSErrors: the pack name could not be downloaded. Its chain of
        # causes (NameResolutionError in HTTPSConnectionPool ...) says less than this.
        pack = engine_loader.engine_options()["pack"]
        problem = (
            f"the face pack {pack!r} could not be downloaded ({type(exc.__cause__).__name__}: no internet access?)."
        )
    return (
        f"Face recognition is off: {problem} Photos still upload and show, but no faces are "
        f"found until a face pack loads. Point {PACK_SETTING} at a folder that holds an SCRFD "
        "detector (with 5 keypoints) and an ArcFace-style recogniser as .onnx files, for example "
        f"the pack beside this repository: `{PACK_SETTING}={example} make run`. Then press "
        '"Retry all failed" on the Photos page to find the faces of the photos uploaded meanwhile.'
    )
