"""Growing libraries stay flat: the recognition cost of one new photo, and of the debounced
library refresh, as a user's library of never-named people grows (issue 16, item 3).

A throwaway user (embedded SQLite in a temporary folder) gets N unknown faces of synthetic
strangers (faces shaped like the real ones: 2-15 per person, see bench.recognition_cv), plus
a few named people. At each size it times:

- `recognise_photo` of a new photo (match + join the unnamed group it looks like, from the
  groups' vector sums): what every photo of an import pays, p50 over 30 photos;
- `people_refresh` (re-match + regroup the whole library): what the debounced job pays, once
  per burst, at most every REGROUP_LOAD_FACTOR x its own duration during an import.

Detection (~50-100 ms a photo on one core) is the same at every size and not included.

    .venv/bin/python -m bench.grouping_scale [--sizes 1000,5000,20000]
        [--pack ../shared/models/face_default]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import _common as common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--pack", default=str(common.SHARED / "models" / "face_default"))
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="sg-bench-grouping-")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        SMARTGALLERY_VAR_DIR=tmp,
        SMARTGALLERY_FACE_PACK=str(Path(args.pack).resolve()),
        SECRET_KEY=common.BENCH_SECRET_KEY,
        DJANGO_SETTINGS_MODULE="smartgallery.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from faces import recognition
    from faces.recognition_model import current_model

    model = current_model()
    for size in [int(s) for s in args.sizes.split(",")]:
        user, rng = _library(size, model), np.random.default_rng(size)
        started = time.monotonic()
        counts = recognition.people_refresh(user.pk, model)
        refresh_s = time.monotonic() - started
        per_photo = []
        for _ in range(30):
            photo = _photo_with_faces(user, model, rng, count=2)
            started = time.monotonic()
            recognition.recognise_photo(photo=photo)
            per_photo.append(time.monotonic() - started)
        print(
            json.dumps(
                {
                    "unknown_faces": size,
                    "groups": counts["groups"],
                    "refresh_s": round(refresh_s, 2),
                    "recognise_photo_ms_p50": round(statistics.median(per_photo) * 1000, 1),
                    "recognise_photo_ms_max": round(max(per_photo) * 1000, 1),
                }
            ),
            flush=True,
        )


def _vectors(rng, count: int, dim: int) -> np.ndarray:
    """Faces of strangers, 2-15 each, each face c * centre + sqrt(1 - c^2) * noise."""
    faces = []
    while len(faces) < count:
        centre = rng.normal(size=dim)
        centre /= np.linalg.norm(centre)
        for c in rng.uniform(0.45, 0.85, size=min(15, 1 + rng.geometric(0.45))):
            noise = rng.normal(size=dim)
            noise -= (noise @ centre) * centre
            faces.append(c * centre + np.sqrt(1 - c * c) * noise / np.linalg.norm(noise))
    return np.asarray(faces[:count], dtype=np.float32)


def _library(size: int, model):
    from accounts.models import User
    from faces.models import Face
    from gallery.models import Photo

    user = User.objects.create_user(f"bench-grouping-{size}-{time.monotonic_ns()}@example.com", None)
    vectors = _vectors(np.random.default_rng(size), size, model.dim)
    photos = Photo.objects.bulk_create(
        [_photo_row(user, i, model) for i in range(size)],
        batch_size=1000,
    )
    Face.objects.bulk_create(
        [_face_row(user, photo, vector, model) for photo, vector in zip(photos, vectors, strict=True)],
        batch_size=1000,
    )
    return user


def _photo_row(user, i: int, model):
    from django.utils import timezone

    from gallery.models import Photo

    return Photo(
        owner=user,
        original=f"bench/{user.pk}-{i}.jpg",
        original_filename=f"{i}.jpg",
        image_format="JPEG",
        sha256=f"{user.pk:08x}{i:056x}",
        file_size=1,
        width=1,
        height=1,
        taken_at=timezone.now(),
        status=Photo.Status.DONE,
        faces_model_id=model.model_id,
    )


def _face_row(user, photo, vector, model):
    from faces.models import Face

    return Face(
        owner=user,
        photo=photo,
        x1=0,
        y1=0,
        x2=100,
        y2=100,
        det_score=0.9,
        size_px=100,
        frontalness=1.0,
        recognisable=True,
        embedding=vector.astype(np.float32).tobytes(),
        model_id=model.model_id,
    )


def _photo_with_faces(user, model, rng, *, count: int):
    from faces.models import Face
    from gallery.models import Photo

    photo = _photo_row(user, Photo.objects.filter(owner=user).count(), model)
    photo.save()
    Face.objects.bulk_create([_face_row(user, photo, v, model) for v in _vectors(rng, count, model.dim)])
    return photo


if __name__ == "__main__":
    main()
