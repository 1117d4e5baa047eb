"""Without face models there are still photos (issue 14, bug 5): a worker with no usable face
pack makes every photo's preview and thumbnail; the pages say in a plain sentence that faces were
not looked for (never the loader's error); once the operator fixes the pack, "Retry all failed"
finds the faces."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from conftest import REPO_ROOT, WorkerProcess
from e2e.helpers import assert_accessible, log_in, wait_until, watch_console
from gallery import services, tasks
from gallery.models import Photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]
# A queue of its own, so the session's worker (with a working pack) never takes these photos.
QUEUE = "e2e-no-face-pack"
LOADED = "el => el.complete && el.naturalWidth > 0"


class QueueWorker(WorkerProcess):
    """The real app's worker, serving QUEUE only."""

    def start(self) -> None:
        from smartgallery.celery import app

        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(QUEUE)
        self.log = open(self.log_path, "ab")
        args = [sys.executable, "-m", "celery", "-A", "smartgallery", "worker", "-Q", QUEUE]
        args += ["--concurrency", "1", "--without-gossip", "--without-mingle", "-l", "info"]
        self.process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready()


@pytest.fixture
def packless_worker(worker_environment, tmp_path, monkeypatch):
    monkeypatch.setattr(
        services, "photo_enqueue", lambda *, photo_id: tasks.photo_process.apply_async((photo_id,), queue=QUEUE)
    )
    worker = QueueWorker(
        {**worker_environment, "SMARTGALLERY_FACE_PACK": str(tmp_path / "no-pack")}, tmp_path / "w.log"
    )
    worker.start()
    yield worker
    worker.stop()


def test_without_a_face_pack_photos_are_shown_and_found_again_once_it_works(
    page: Page, live_server, packless_worker, faces_dir, face_pack_path, screenshots
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    files = sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:2]
    base = live_server.url
    errors = watch_console(page)
    log_in(page, base, alice)

    page.goto(f"{base}/photos/upload/")
    page.get_by_label("Choose photos").set_input_files([str(p) for p in files])
    rows = page.locator("#upload-results .upload-accepted")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_contain_text("Uploaded, without faces: Face recognition is not set up", timeout=60_000)
    expect(page.locator(".upload-summary")).to_contain_text("2 photos without faces", timeout=30_000)

    # The timeline shows both photos, and says plainly why they have no faces.
    page.goto(f"{base}/photos/")
    tiles = page.locator("#timeline a.tile img")
    expect(tiles).to_have_count(2)
    for tile in tiles.all():
        tile.scroll_into_view_if_needed()
        page.wait_for_function(LOADED, arg=tile.element_handle())
    panel = page.locator("#processing")
    expect(panel).to_contain_text("2 without faces")
    expect(panel.locator(".failed-error").first).to_contain_text(
        "Shown without faces (2 photos): Face recognition is not set up on the server yet"
    )
    text = page.content()
    assert "no-pack" not in text and "does not exist" not in text and "FaceEngineError" not in text
    assert_accessible(page, "timeline, photos without faces")
    screenshots(page, "timeline-without-faces")

    tiles.first.click()
    preview = page.locator("#photo-frame img")
    page.wait_for_function(LOADED, arg=preview.element_handle())
    expect(page.locator(".photo-problem")).to_contain_text("Faces were not looked for in this photo.")
    expect(page.locator("a.face-box")).to_have_count(0)
    assert_accessible(page, "photo without faces")
    screenshots(page, "photo-without-faces")

    # The operator points the worker at a pack; the owner retries everything in one click.
    packless_worker.stop()
    packless_worker.env["SMARTGALLERY_FACE_PACK"] = str(face_pack_path)
    packless_worker.start()
    page.goto(f"{base}/photos/")
    page.get_by_role("button", name="Retry all failed (2)").click()
    expect(page.locator("#processing")).to_contain_text("Finding faces")
    mine = Photo.objects.filter(owner=alice)
    wait_until(
        lambda: mine.filter(status="done", faces_status="done").count() == 2,
        timeout=120,
        message=lambda: packless_worker.log_text()[-3000:],
    )
    expect(page.locator("#processing")).to_be_hidden(timeout=10_000)
    page.goto(f"{base}/photos/{mine.order_by('pk').first().pk}/")
    expect(page.locator("a.face-box").first).to_be_visible()
    expect(page.locator(".photo-problem")).to_have_count(0)
    assert errors == [], errors
