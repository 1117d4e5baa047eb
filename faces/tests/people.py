"""Helpers for the people tests: real faces of the shared photos stored as a user's Faces."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
from django.utils import timezone

from faces import services
from faces.calibration import largest_face
from faces.engine import DetectedFace
from faces.models import Face
from gallery.models import Photo

_counter = itertools.count()


def make_photo(owner, name: str = "photo.jpg") -> Photo:
    return Photo.objects.create(
        owner=owner,
        original=f"{owner.pk}/originals/{name}",
        original_filename=name,
        image_format="JPEG",
        sha256=hashlib.sha256(f"{name}-{next(_counter)}".encode()).hexdigest(),
        file_size=1000,
        width=640,
        height=480,
        taken_at=timezone.now(),
        status=Photo.Status.DONE,
    )


def make_face(
    owner, photo: Photo, detected: DetectedFace | None, *, model_id: str, embedding: np.ndarray | None = None, **fields
) -> Face:
    vector = embedding if embedding is not None else (detected.embedding if detected else None)
    box = detected.box if detected else (10.0, 10.0, 110.0, 110.0)
    defaults = {
        "x1": box[0],
        "y1": box[1],
        "x2": box[2],
        "y2": box[3],
        "landmarks": detected.landmarks.tolist() if detected else [],
        "det_score": detected.det_score if detected else 0.9,
        "size_px": int(detected.size_px) if detected else 100,
        "sharpness": detected.sharpness if detected else 100.0,
        "frontalness": detected.frontalness if detected else 1.0,
        "recognisable": vector is not None,
        "embedding": np.asarray(vector, dtype=np.float32).tobytes() if vector is not None else None,
        "model_id": model_id,
    }
    defaults.update(fields)
    return Face.objects.create(owner=owner, photo=photo, **defaults)


class Library:
    """One user's photos of some identities: one photo (largest face) per shared photo."""

    def __init__(
        self,
        owner,
        detections: dict[str, list[DetectedFace]],
        model_id: str,
        identities: list[str],
        per_identity: int | None = None,
    ) -> None:
        self.owner = owner
        self.faces: dict[str, list[Face]] = {}
        for identity in identities:
            names = sorted(n for n in detections if n.startswith(f"{identity}/"))[:per_identity]
            self.faces[identity] = []
            for name in names:
                detected = largest_face(detections[name])
                photo = make_photo(owner, Path(name).name)
                self.faces[identity].append(make_face(owner, photo, detected, model_id=model_id))

    def refresh(self) -> None:
        for identity, faces in self.faces.items():
            fresh = Face.objects.in_bulk([f.id for f in faces])
            self.faces[identity] = [fresh[f.id] for f in faces]

    def states(self, identity: str) -> list[tuple[str, int | None]]:
        self.refresh()
        return [(f.state, f.person_id) for f in self.faces[identity]]


def name_person(library: Library, user, identity: str, count: int = 3) -> int:
    """Name the identity's first face (a new person, called `identity`) and assign its next
    `count - 1` faces to that person; returns the person's id."""
    faces = library.faces[identity]
    person_id = services.face_assign(user=user, face_id=faces[0].id, name=identity).person_created
    for face in faces[1:count]:
        services.face_assign(user=user, face_id=face.id, person_id=person_id)
    return person_id
