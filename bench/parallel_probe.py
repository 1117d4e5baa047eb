"""Parallel probe (issue 15, "probe again"): two users hit the same objects at the same moment
through the real stack, then `manage.py check_integrity` must find nothing.

Production settings under gunicorn ((2 x cores) + 1 sync workers, 127.0.0.1 on a spare port),
a real Celery worker with the face pack, own MariaDB database (sg_bench_probe), a private
Redis. alice and bob (sessions made directly) send bursts of requests released together by a
barrier:

  uploads      alice: 8 face photos at once, the same photo 4 times at once, an MPO, a 3200x4
               strip, a 1,200-character file name; bob: 4 photos at once
  naming       one new name typed on 4 faces at once; a person deleted while 3 faces are named
               for them; merges A->B and B->A with renames of both, at once; one Undo sent
               three times at once
  photos       one photo deleted twice and retried at once; a photo deleted while its face is
               named
  bob          bob posts every action on alice's faces, persons, groups and photos at once
  same objects one person renamed, hidden, dated and deleted at once; one face confirmed,
               rejected, marked not a face and renamed at once; one group named two ways and
               dismissed at once
  accounts     one new address signed up 4 times at once; 6 wrong sign-in codes at once, then
               the right one (read from the console mail in the gunicorn log); bob deletes his
               account while two uploads and a naming of his are under way

Expected: no answer is a 5xx, bob gets only 404s, one person per typed name, one account per
address, the right code refused after the wrong ones, no face named for another user's person;
then, once the queue is idle, `manage.py check_integrity --json --orphan-min-age 0` reports 0
problems (run with the same environment, so against the probe's database and media).

Prints ONE JSON line; progress on stderr; exits 1 on any finding. Loopback only, bounded
(about 3 minutes on 2 cores).

    .venv/bin/python -m bench.parallel_probe
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench import _common as common

log = common.log
PASSWORD = "probe-password-1234"  # noqa: S105 (throw-away users)
HX = {"HX-Request": "true"}
CODE_RE = re.compile(r"\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\b")


class Probe:
    def __init__(self, base: str) -> None:
        self.base = base
        self.findings: list[str] = []
        self.answers: dict[str, Counter] = {}

    def browser(self, session_key: str | None = None) -> common.Browser:
        browser = common.Browser(self.base, session_key)
        browser.csrf("/photos/upload/" if session_key else "/accounts/login/")
        return browser

    def burst(self, phase: str, calls: list) -> list[tuple[int, str | None, bytes]]:
        """Run the calls in threads released together; every answer is recorded."""
        barrier = threading.Barrier(len(calls))
        results: list = [None] * len(calls)

        def run(index: int, call) -> None:
            barrier.wait(timeout=60)
            try:
                results[index] = call()
            except Exception as error:  # noqa: BLE001 (a dropped connection is a finding)
                results[index] = (0, None, repr(error).encode())

        threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        counts = self.answers.setdefault(phase, Counter())
        for status, _, body in results:
            counts[status] += 1
            if status == 0 or status >= 500:
                self.findings.append(f"{phase}: HTTP {status} {body[:200]!r}")
        log(f"{phase}: {dict(counts)}")
        return results

    def expect(self, ok: bool, finding: str) -> None:
        if not ok:
            self.findings.append(finding)
            log("FINDING", finding)


def post(browser: common.Browser, path: str, fields: dict | None = None, htmx: bool = True):
    return lambda: browser.post_form(path, fields or {}, headers=HX if htmx else None)


def main() -> None:
    scratch = common.scratch_dir("probe")
    common.configure("sg_bench_probe", 14, scratch=scratch)
    result: dict = {"bench": "parallel_probe", "cpus": os.cpu_count(), "loadavg_start": common.loadavg()}
    server = worker = None
    probe = None
    try:
        log("creating database sg_bench_probe")
        common.create_database()
        common.flush_redis_db()
        from django.db import connection

        alice, bob = common.create_verified_users(["alice@example.com", "bob@example.com"], PASSWORD)
        alice_key, bob_key = common.session_for(alice), common.session_for(bob)
        connection.close()

        env = dict(os.environ)
        worker = common.start_worker(1, env, scratch / "worker.log")
        server = common.Gunicorn(env, scratch / "gunicorn.log")
        server.start()
        log(f"gunicorn {server.base}, {server.workers} workers; load {common.loadavg()}")
        probe = Probe(server.base)
        _uploads(probe, alice_key, bob_key, alice, bob)
        connection.close()
        _naming(probe, alice_key, alice)
        _photos(probe, alice_key, alice)
        _bob(probe, bob_key, alice)
        _same_objects(probe, alice_key, alice)
        _accounts(probe, scratch / "gunicorn.log")
        _account_deleted(probe, bob_key, bob)
        _invariants(probe, alice, bob)
        _wait_idle(alice, bob)
        integrity = _check_integrity(env)
        result["check_integrity"] = {"problems": integrity.get("problems"), "findings": integrity.get("findings")}
        probe.expect(integrity.get("problems") == 0, f"check_integrity: {integrity}")
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            common.stop_worker(worker)
        if probe is None or probe.findings:
            _log_errors(scratch)
        common.drop_database()
        shutil.rmtree(scratch, ignore_errors=True)
    result.update(
        {
            "answers": {phase: dict(counts) for phase, counts in (probe.answers if probe else {}).items()},
            "findings": probe.findings if probe else ["the probe did not run"],
            "loadavg_end": common.loadavg(),
        }
    )
    result["ok"] = not result["findings"]
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


def _log_errors(scratch: Path) -> None:
    """The server's and the worker's error logs (tracebacks), to stderr, before they go."""
    for name in ("gunicorn.log", "worker.log"):
        path = scratch / name
        if path.exists():
            lines = path.read_text(errors="replace").splitlines()
            errors = [i for i, line in enumerate(lines) if "ERROR" in line or line.startswith("Traceback")]
            for i in errors[:5]:
                log(f"{name}:\n" + "\n".join(lines[i : i + 60]))


# Phases -------------------------------------------------------------------------------------


def _uploads(probe: Probe, alice_key: str, bob_key: str, alice, bob) -> None:
    from PIL import Image

    photos = _face_photos(14)
    a = [probe.browser(alice_key) for _ in range(8)]
    probe.burst(
        "uploads: 8 photos at once",
        [lambda b=b, p=p: b.upload("/photos/upload/", *p) for b, p in zip(a, photos[:8], strict=True)],
    )
    same = photos[8]
    probe.burst("uploads: one photo 4 times at once", [lambda b=b: b.upload("/photos/upload/", *same) for b in a[:4]])
    first = Image.open(io.BytesIO(photos[9][1])).convert("RGB")
    mpo = io.BytesIO()
    first.save(mpo, "MPO", save_all=True, append_images=[Image.new("RGB", first.size, (30, 60, 90))])
    strip = io.BytesIO()
    Image.new("RGB", (3200, 4), (120, 90, 60)).save(strip, "PNG")
    answers = probe.burst(
        "uploads: MPO, strip, long name",
        [
            lambda: a[0].upload("/photos/upload/", "camera.MPO", mpo.getvalue()),
            lambda: a[1].upload("/photos/upload/", "strip.png", strip.getvalue()),
            lambda: a[2].upload("/photos/upload/", "n" * 1200 + ".jpg", photos[10][1]),
        ],
    )
    probe.expect(answers[0][0] == 201 and answers[1][0] == 201, f"MPO/strip not accepted: {answers[:2]}")
    probe.expect(answers[2][0] == 400 and b"shorten it" in answers[2][2], f"long name: {answers[2][:2]}")
    b = [probe.browser(bob_key) for _ in range(4)]
    probe.burst(
        "uploads: bob, 4 at once",
        [lambda x=x, p=p: x.upload("/photos/upload/", *p) for x, p in zip(b, photos[10:14], strict=True)],
    )
    from django.db.models import Q

    from gallery.models import Photo

    expected_alice = Photo.objects.filter(owner=alice).count()
    probe.expect(expected_alice == 11, f"alice has {expected_alice} photos, expected 11 (8 + 1 of 4 + MPO + strip)")
    ok = common.wait_processed(alice, expected_alice, 600) and common.wait_processed(bob, 4, 300)
    probe.expect(ok, "photos not processed within the time limit")
    for photo in Photo.objects.filter(Q(status="failed") | Q(faces_status="failed")):
        probe.findings.append(f"photo {photo.pk} failed: {photo.last_error} ({photo.error_detail})")
    strip_photo = Photo.objects.filter(owner=alice, original_filename="strip.png").first()
    probe.expect(strip_photo is not None and strip_photo.status == "done", "the strip was not processed")
    mpo_photo = Photo.objects.filter(owner=alice, original_filename="camera.MPO").first()
    probe.expect(mpo_photo is not None and mpo_photo.image_format == "JPEG", "the MPO is not stored as JPEG")


def _face_photos(count: int) -> list[tuple[str, bytes]]:
    """The shared face photos as they are (small, so the worker keeps up): the group photos
    first (several faces each), then one photo per identity."""
    faces = common.SHARED / "faces"
    groups = sorted(p for p in (faces / "_groups").glob("*.jpg"))
    people = sorted(p for p in faces.glob("*/*.jpg") if not p.parent.name.startswith("_"))
    chosen = (groups + people[::7])[:count]
    return [(path.name, path.read_bytes()) for path in chosen]


def _unnamed_faces(owner, count: int) -> list:
    from faces.models import Face

    faces = list(Face.objects.filter(owner=owner, person__isnull=True, state="unknown").order_by("id")[:count])
    if len(faces) < count:
        raise RuntimeError(f"only {len(faces)} unnamed faces of {owner}; the face photos found too few faces")
    return faces


def _naming(probe: Probe, alice_key: str, alice) -> None:
    from faces.models import Person

    browsers = [probe.browser(alice_key) for _ in range(4)]
    faces = _unnamed_faces(alice, 4)
    probe.burst(
        "naming: one new name on 4 faces at once",
        [
            post(b, f"/people/faces/{f.id}/assign/", {"name": "Probe Person"})
            for b, f in zip(browsers, faces, strict=True)
        ],
    )
    named = Person.objects.filter(owner=alice, name__iexact="probe person", deleted_at__isnull=True)
    probe.expect(named.count() == 1, f"{named.count()} persons called Probe Person")

    person = named.first()
    faces = _unnamed_faces(alice, 3)
    probe.burst(
        "naming: person deleted while 3 faces are named for them",
        [
            post(b, f"/people/faces/{f.id}/assign/", {"person": person.id})
            for b, f in zip(browsers[:3], faces, strict=True)
        ]
        + [post(browsers[3], f"/people/{person.id}/delete/")],
    )

    a_face, b_face = _unnamed_faces(alice, 2)
    browsers[0].post_form(f"/people/faces/{a_face.id}/assign/", {"name": "Merge A"})
    browsers[0].post_form(f"/people/faces/{b_face.id}/assign/", {"name": "Merge B"})
    a_person = Person.objects.get(owner=alice, name="Merge A")
    b_person = Person.objects.get(owner=alice, name="Merge B")
    probe.burst(
        "naming: merges A->B and B->A, renames of both, at once",
        [
            post(browsers[0], f"/people/{a_person.id}/merge/", {"into": b_person.id}),
            post(browsers[1], f"/people/{b_person.id}/merge/", {"into": a_person.id}),
            post(browsers[2], f"/people/{a_person.id}/rename/", {"name": "Merge A renamed"}),
            post(browsers[3], f"/people/{b_person.id}/rename/", {"name": "Merge B renamed"}),
        ],
    )
    live = Person.objects.filter(pk__in=[a_person.id, b_person.id], deleted_at__isnull=True).count()
    probe.expect(live == 1, f"{live} of the two merged persons are live (one merge should have won)")

    (face,) = _unnamed_faces(alice, 1)
    _, _, body = browsers[0].post_form(f"/people/faces/{face.id}/assign/", {"name": "Undo Me"}, headers=HX)
    token = re.search(rb"/people/undo/([^/\"]+)/", body)
    probe.expect(token is not None, "no Undo in the answer to naming a face")
    if token:
        tabs = [common.Browser(probe.base, alice_key) for _ in range(3)]
        for tab in tabs:
            tab.cookies.update(browsers[0].cookies)
        undo = f"/people/undo/{token.group(1).decode()}/"
        probe.burst("naming: one Undo sent 3 times at once", [post(tab, undo) for tab in tabs])
        probe.expect(
            not Person.objects.filter(owner=alice, name="Undo Me", deleted_at__isnull=True).exists(),
            "the undone new person is still there",
        )


def _photos(probe: Probe, alice_key: str, alice) -> None:
    from faces.models import Face
    from gallery.models import Photo

    browsers = [probe.browser(alice_key) for _ in range(4)]
    photo = Photo.objects.filter(owner=alice, status="done").order_by("id").first()
    probe.burst(
        "photos: deleted twice and retried at once",
        [
            post(browsers[0], f"/photos/{photo.pk}/delete/"),
            post(browsers[1], f"/photos/{photo.pk}/delete/"),
            post(browsers[2], f"/photos/{photo.pk}/retry/"),
        ],
    )
    probe.expect(not Photo.objects.filter(pk=photo.pk).exists(), "the deleted photo is still there")
    face = Face.objects.filter(owner=alice, person__isnull=True, state="unknown").order_by("-id").first()
    if face is not None:
        probe.burst(
            "photos: deleted while its face is named",
            [
                post(browsers[0], f"/photos/{face.photo_id}/delete/"),
                post(browsers[1], f"/people/faces/{face.id}/assign/", {"name": "Gone Soon"}),
            ],
        )


def _bob(probe: Probe, bob_key: str, alice) -> None:
    from faces.models import Face, FaceGroup, Person
    from gallery.models import Photo

    browser = probe.browser(bob_key)
    face = Face.objects.filter(owner=alice).first()
    person = Person.objects.filter(owner=alice).first()
    group = FaceGroup.objects.filter(owner=alice).first()
    photo = Photo.objects.filter(owner=alice).first()
    calls = [
        post(browser, f"/people/faces/{face.id}/{action}/", {"name": "Bob's", "person": person.id})
        for action in ("assign", "confirm", "reject", "unassign", "not-a-face")
    ]
    calls += [
        post(browser, f"/people/{person.id}/{action}/", {"name": "Bob's", "into": person.id})
        for action in ("rename", "hide", "merge", "delete")
    ]
    calls += [post(browser, f"/photos/{photo.pk}/{action}/") for action in ("delete", "retry")]
    if group is not None:
        calls.append(post(browser, f"/people/groups/{group.id}/name/", {"name": "Bob's", "all": "1"}))
    answers = probe.burst("bob: every action on alice's objects at once", calls)
    probe.expect(all(status == 404 for status, _, _ in answers), f"bob got {[a[0] for a in answers]}, not only 404")


def _same_objects(probe: Probe, alice_key: str, alice) -> None:
    from faces.models import Face, FaceGroup, Person

    browsers = [probe.browser(alice_key) for _ in range(4)]
    person = Person.objects.filter(owner=alice, deleted_at__isnull=True).first()
    if person is not None:
        probe.burst(
            "same objects: rename, hide, birth date and delete of one person at once",
            [
                post(browsers[0], f"/people/{person.id}/rename/", {"name": "Renamed"}),
                post(browsers[1], f"/people/{person.id}/hide/"),
                post(browsers[2], f"/people/{person.id}/birth-date/", {"birth_date": "1990-01-02"}),
                post(browsers[3], f"/people/{person.id}/delete/"),
            ],
        )
    named = Face.objects.filter(owner=alice, person__isnull=False, person__deleted_at__isnull=True).first()
    if named is not None:
        probe.burst(
            "same objects: confirm, reject, not-a-face and rename of one face at once",
            [
                post(browsers[0], f"/people/faces/{named.id}/confirm/"),
                post(browsers[1], f"/people/faces/{named.id}/reject/"),
                post(browsers[2], f"/people/faces/{named.id}/not-a-face/"),
                post(browsers[3], f"/people/faces/{named.id}/assign/", {"name": "Someone Else"}),
            ],
        )
    group = FaceGroup.objects.filter(owner=alice, dismissed=False).first()
    if group is not None:
        probe.burst(
            "same objects: one group named two ways and dismissed at once",
            [
                post(browsers[0], f"/people/groups/{group.id}/name/", {"name": "Group One", "all": "1"}),
                post(browsers[1], f"/people/groups/{group.id}/name/", {"name": "Group Two", "all": "1"}),
                post(browsers[2], f"/people/groups/{group.id}/dismiss/"),
            ],
        )


def _account_deleted(probe: Probe, bob_key: str, bob) -> None:
    """bob deletes his account while two more of his uploads and a naming are under way."""
    from accounts.models import User
    from faces.models import Face

    browsers = [probe.browser(bob_key) for _ in range(4)]
    extra = _face_photos(16)[14:16]
    face = Face.objects.filter(owner=bob).first()
    calls = [lambda b=b, p=p: b.upload("/photos/upload/", *p) for b, p in zip(browsers[:2], extra, strict=True)]
    if face is not None:
        calls.append(post(browsers[2], f"/people/faces/{face.id}/assign/", {"name": "Bob's friend"}))
    calls.append(post(browsers[3], "/accounts/delete/", {"password": PASSWORD}, htmx=False))
    probe.burst("accounts: bob deletes his account during uploads and a naming", calls)
    probe.expect(not User.objects.filter(pk=bob.pk).exists(), "bob's account is still there")


def _accounts(probe: Probe, gunicorn_log: Path) -> None:
    from accounts.models import User

    fields = {
        "email": "carol@example.com",
        "display_name": "",
        "password1": "carol-secret-13579",
        "password2": "carol-secret-13579",
    }
    signups = [common.Browser(probe.base) for _ in range(4)]
    for browser in signups:
        browser.csrf("/accounts/signup/")
    probe.burst(
        "accounts: one new address signed up 4 times at once",
        [lambda b=b: b.post_form("/accounts/signup/", fields) for b in signups],
    )
    probe.expect(User.objects.filter(email__iexact="carol@example.com").count() == 1, "not one account for carol")

    browser = common.Browser(probe.base)
    browser.csrf("/accounts/login/")
    mark = gunicorn_log.stat().st_size
    status, location, _ = browser.post_form("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    probe.expect(status == 302 and location == "/accounts/login/code/confirm/", f"sign-in: {status} {location}")
    time.sleep(0.5)
    codes = CODE_RE.findall(gunicorn_log.read_bytes()[mark:].decode(errors="replace"))
    tabs = []
    for _ in range(6):
        tab = common.Browser(probe.base)
        tab.cookies = dict(browser.cookies)
        tabs.append(tab)
    probe.burst(
        "accounts: 6 wrong sign-in codes at once",
        [post(t, "/accounts/login/code/confirm/", {"code": "BBBB-CCCC"}, htmx=False) for t in tabs],
    )
    if codes:
        status, location, _ = browser.post_form("/accounts/login/code/confirm/", {"code": codes[-1]})
        probe.expect(location != "/", f"the right code signed in after 6 wrong ones ({status} {location})")
    else:
        probe.findings.append("no sign-in code found in the console mail of the gunicorn log")


def _invariants(probe: Probe, alice, bob) -> None:
    from django.db.models import F

    from faces.models import Face

    crossed = Face.objects.filter(person__isnull=False).exclude(person__owner_id=F("owner_id")).count()
    probe.expect(crossed == 0, f"{crossed} faces named for another user's person")
    bobs_named = Face.objects.filter(owner=bob, person__owner=alice).count()
    probe.expect(bobs_named == 0, "bob's faces carry alice's persons")


def _wait_idle(alice, bob, timeout: float = 180) -> None:
    """Until the debounced index rebuilds ran: every index built at its labels version."""
    from django.db.models import F

    from faces.models import RecognitionIndex

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not RecognitionIndex.objects.filter(built_version__lt=F("labels_version")).exists():
            return
        time.sleep(1)
    log("indexes still stale after the wait; check_integrity will say so")


def _check_integrity(env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "manage.py", "check_integrity", "--json", "--orphan-min-age", "0"],
        cwd=common.REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log(f"check_integrity exit {out.returncode}")
    try:
        return json.loads(out.stdout[out.stdout.index("{") :])
    except ValueError:
        return {"problems": None, "error": (out.stdout + out.stderr)[-2000:]}


if __name__ == "__main__":
    main()
