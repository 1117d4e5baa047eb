"""Recognition quality through the real services, on a labelled identity-folder tree.

For each photo of ../shared/faces/<Identity>/ the largest face is detected and embedded by
the engine and stored as a Face of one user (a throw-away SQLite database). The first K
photos of every identity are named with `face_assign` (as a user would), then the index is
rebuilt and every other face re-matched (`recognition.people_refresh`, what the debounced task
runs). Prints one JSON line per K:

    auto_precision          correct auto faces / auto faces
    auto_recall             correct auto faces / faces to recognise
    suggest_or_auto_recall  faces whose auto or suggested person is right / faces to recognise

    .venv/bin/python -m bench.recognition_quick [--faces ../shared/faces] [--k 3 --k 1]
        [--top 1] [--pack ../shared/models/face_default]
"""

import argparse
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from bench import _common as common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", default=str(common.SHARED / "faces"))
    parser.add_argument("--pack", default=str(common.SHARED / "models" / "face_default"))
    parser.add_argument("--k", type=int, action="append", help="labelled photos per identity (repeatable)")
    parser.add_argument("--top", type=int, default=None, help="per-person score: mean of the top N neighbours")
    args = parser.parse_args()
    ks = args.k or [3, 1]

    tmp = tempfile.mkdtemp(prefix="sg-bench-recognition-")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        SMARTGALLERY_VAR_DIR=tmp,
        SMARTGALLERY_FACE_PACK=str(Path(args.pack).resolve()),
        SQLITE_PATH=str(Path(tmp) / "bench.sqlite3"),
        SECRET_KEY=common.BENCH_SECRET_KEY,
        DJANGO_SETTINGS_MODULE="smartgallery.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from faces import recognition_model
    from faces.calibration import labelled_photos, largest_face
    from faces.engine import load_upright_rgb
    from faces.engine_loader import get_engine

    engine = get_engine()
    model = recognition_model.current_model()
    if args.top:
        model = dataclasses.replace(model, policy=dataclasses.replace(model.policy, top_per_person=args.top))
    started = time.monotonic()
    detected = []
    for identity, path in labelled_photos(Path(args.faces)):
        face = largest_face(engine.detect(load_upright_rgb(path)))
        if face is not None and face.recognisable:
            detected.append((identity, path, face))
    detect_s = time.monotonic() - started
    for k in ks:
        print(json.dumps(_run(k, detected, engine, model) | {"detect_s": round(detect_s, 1)}), flush=True)


def _run(k, detected, engine, model) -> dict:
    from django.utils import timezone

    from accounts.models import User
    from faces import recognition, services
    from faces.models import Face
    from gallery.models import Photo

    user = User.objects.create_user(f"bench-k{k}-{time.monotonic_ns()}@example.com", None)
    seen: dict[str, int] = {}
    truth: dict[int, str] = {}
    labelled: dict[str, int] = {}
    for identity, path, det in detected:
        photo = Photo.objects.create(
            owner=user,
            original=f"bench/{path.name}",
            original_filename=path.name,
            image_format="JPEG",
            sha256=hashlib.sha256(str(path).encode()).hexdigest(),
            file_size=1,
            width=1,
            height=1,
            taken_at=timezone.now(),
            status=Photo.Status.DONE,
            faces_model_id=engine.model_id,
        )
        x1, y1, x2, y2 = det.box
        face = Face.objects.create(
            owner=user,
            photo=photo,
            x1=x1,
            y1=y1,
            x2=x2,
            y2=y2,
            landmarks=det.landmarks.tolist(),
            det_score=det.det_score,
            size_px=int(det.size_px),
            sharpness=det.sharpness,
            frontalness=det.frontalness,
            recognisable=True,
            embedding=det.embedding.tobytes(),
            model_id=engine.model_id,
        )
        seen[identity] = seen.get(identity, 0) + 1
        if seen[identity] <= k:
            if identity in labelled:
                services.face_assign(user=user, face_id=face.id, person_id=labelled[identity])
            else:
                change = services.face_assign(user=user, face_id=face.id, name=identity)
                labelled[identity] = change.person_created
        else:
            truth[face.id] = identity
    started = time.monotonic()
    recognition.people_refresh(user.id, model)
    rematch_s = time.monotonic() - started
    names = {pid: name for name, pid in labelled.items()}
    auto = auto_ok = either_ok = 0
    wrong = []
    for face in Face.objects.filter(pk__in=list(truth)):
        expected = truth[face.id]
        got = names.get(face.person_id)
        if face.state == Face.State.AUTO:
            auto += 1
            auto_ok += got == expected
            if got != expected:
                wrong.append([expected, got, face.similarity, face.margin])
        if face.state in (Face.State.AUTO, Face.State.SUGGESTED) and got == expected:
            either_ok += 1
    total = len(truth)
    return {
        "k": k,
        "model_id": model.model_id,
        "policy": dataclasses.asdict(model.policy),
        "identities": len(labelled),
        "faces_to_recognise": total,
        "auto": auto,
        "auto_precision": round(auto_ok / auto, 4) if auto else None,
        "auto_recall": round(auto_ok / total, 4),
        "suggest_or_auto_recall": round(either_ok / total, 4),
        "wrong_auto": wrong,
        "rematch_s": round(rematch_s, 2),
    }


if __name__ == "__main__":
    main()
