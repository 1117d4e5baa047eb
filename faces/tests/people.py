"""Helpers for the people tests: real faces of the shared photos stored as a user's Faces."""

from __future__ import annotations

from pathlib import Path

from faces import services
from faces.calibration import largest_face
from faces.engine import DetectedFace
from faces.models import Face
from smartgallery.tests.factories import FaceFactory, PhotoFactory, detection_fields


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
                photo = PhotoFactory(owner=owner, original_filename=Path(name).name)
                # A photo where the engine found no face keeps an unrecognisable placeholder face.
                fields = detection_fields(detected) if detected else {"recognisable": False, "embedding": None}
                face = FaceFactory(owner=owner, photo=photo, model_id=model_id, **fields)
                self.faces[identity].append(face)

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
