"""Without a usable face pack (issue 14, bug 5): a photo still gets its preview and thumbnail and
is shown, its faces step alone fails; the owner reads a plain sentence (never a library's text)
and can retry every such photo at once; the operator gets the details in the admin and the log;
`check_face_pack` (run by `make run`) says how to point SMARTGALLERY_FACE_PACK at a pack."""

import io

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.urls import reverse

from faces import engine as face_engine
from faces import engine_loader
from gallery import services, tasks
from gallery.tests import images
from smartgallery.tests.factories import PhotoFactory, upload_photo

OFFLINE = "HTTPSConnectionPool(host='github.com', port=443): Max retries exceeded with url: /buffalo_l.zip"


@pytest.fixture
def fresh_engine():
    engine_loader.reset_engine()
    yield
    engine_loader.reset_engine()  # the next test loads the session's pack again


@pytest.fixture
def offline_buffalo_l(settings, fresh_engine, monkeypatch, tmp_path):
    """The default pack on a machine without internet: InsightFace's download fails as ours do."""

    def offline(*args, **kwargs):
        raise requests.ConnectionError(OFFLINE)

    monkeypatch.setattr(requests, "get", offline)
    monkeypatch.setenv("HOME", str(tmp_path))  # InsightFace looks in and downloads to ~/.insightface
    settings.SMARTGALLERY_FACE_PACK = "buffalo_l"


@pytest.fixture
def missing_pack(settings, fresh_engine, tmp_path):
    settings.SMARTGALLERY_FACE_PACK = str(tmp_path / "no-pack-here")
    return settings.SMARTGALLERY_FACE_PACK


def test_without_a_pack_the_photo_is_shown_and_its_owner_reads_a_plain_sentence(
    alice, alice_client, offline_buffalo_l, no_broker, caplog
):
    photo = upload_photo(alice, images.face_photo(), "face.jpg")

    assert tasks.photo_process.apply(args=[photo.pk]).get() == "faces failed"

    photo.refresh_from_db()
    assert (photo.status, photo.faces_status) == ("done", "failed")
    assert default_storage.exists(photo.preview.name) and default_storage.exists(photo.thumbnail.name)
    assert photo.last_error == services.FACES_UNAVAILABLE
    assert OFFLINE in photo.error_detail and "buffalo_l" in photo.error_detail  # the operator's details
    assert OFFLINE in caplog.text
    assert alice_client.get(reverse("gallery:thumbnail", args=[photo.pk])).status_code == 200
    assert alice_client.get(reverse("gallery:preview", args=[photo.pk])).status_code == 200

    timeline = alice_client.get(reverse("gallery:timeline")).content.decode()
    assert f'src="/photos/{photo.pk}/thumbnail.jpg"' in timeline and "Could not process" not in timeline
    assert "1 without faces" in timeline and "Face recognition is not set up on the server yet" in timeline
    page = alice_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert reverse("gallery:preview", args=[photo.pk]) in page
    assert "Faces were not looked for in this photo." in page and reverse("gallery:retry", args=[photo.pk]) in page
    for text in (timeline, page):
        assert "HTTPSConnectionPool" not in text and "ConnectionError" not in text and "buffalo_l" not in text


def test_a_detector_crash_leaves_the_photo_shown_without_faces(alice, alice_client, no_broker, monkeypatch, caplog):
    import cv2

    photo = upload_photo(alice, images.face_photo(), "face.jpg")

    def broken(image):
        raise cv2.error("OpenCV(5.0.0) resize.cpp:4220: error: (-215:Assertion failed) inv_scale_x > 0")

    monkeypatch.setattr(engine_loader.get_engine(), "detect", broken)

    assert tasks.photo_process.apply(args=[photo.pk]).get() == "failed"
    photo.refresh_from_db()
    assert (photo.status, photo.faces_status) == ("done", "failed")
    assert photo.last_error == services.UNEXPECTED_FAILURE and "inv_scale_x" in photo.error_detail
    assert default_storage.exists(photo.preview.name)
    page = alice_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert "Something went wrong on the server" in page and "OpenCV" not in page


def test_a_temporary_problem_that_stays_is_told_plainly(alice, alice_client, no_broker, monkeypatch, settings):
    settings.SMARTGALLERY_MAX_ATTEMPTS = 1
    photo = upload_photo(alice, images.face_photo(), "face.jpg")

    def gone(image):
        raise OperationalError("(2006, 'MySQL server has gone away')")

    monkeypatch.setattr(engine_loader.get_engine(), "detect", gone)

    assert tasks.photo_process.apply(args=[photo.pk]).get() == "failed"
    photo.refresh_from_db()
    assert (photo.status, photo.faces_status) == ("done", "failed")
    assert photo.last_error == f"Gave up after 1 attempt. Last problem: {services.TEMPORARY_PROBLEM}"
    assert "OperationalError" in photo.error_detail and "gone away" in photo.error_detail
    assert "gone away" not in alice_client.get(reverse("gallery:timeline")).content.decode()


def test_an_unreadable_file_is_told_plainly(alice, alice_client, no_broker):
    photo = upload_photo(alice, images.jpeg_bytes(200, 200))
    with default_storage.open(photo.original.name, "wb") as stream:
        stream.write(b"garbage")

    assert tasks.photo_process.apply(args=[photo.pk]).get() == "failed"
    photo.refresh_from_db()
    assert (photo.status, photo.last_error) == ("failed", services.UNREADABLE)
    assert "UnidentifiedImageError" in photo.error_detail
    page = alice_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert "This photo could not be processed. This file cannot be read as a photo." in page
    assert "UnidentifiedImageError" not in page


def test_a_pack_that_cannot_load_is_tried_again_after_a_minute_not_for_every_photo(missing_pack, monkeypatch, caplog):
    calls = []
    real_load = face_engine.load_engine
    monkeypatch.setattr(face_engine, "load_engine", lambda **options: calls.append(1) or real_load(**options))
    now = [1000.0]
    monkeypatch.setattr(engine_loader.time, "monotonic", lambda: now[0])

    for _ in range(3):
        with pytest.raises(face_engine.FaceEngineError, match="does not exist"):
            engine_loader.get_engine()
    assert len(calls) == 1 and caplog.text.count("Face detection is off") == 1
    now[0] += engine_loader.RETRY_LOAD_AFTER_SECONDS
    with pytest.raises(face_engine.FaceEngineError):
        engine_loader.get_engine()
    assert len(calls) == 2


def test_retry_all_failed_queues_the_owners_failed_photos_and_those_without_faces(
    alice, alice_client, bob, no_broker, django_capture_on_commit_callbacks
):
    failed = PhotoFactory(owner=alice, status="failed", last_error="Broken.", attempts=3)
    without_faces = PhotoFactory(owner=alice, faces_status="failed", last_error="No pack.", attempts=1)
    fine = PhotoFactory(owner=alice)
    PhotoFactory(owner=alice, status="failed", deleted_at="2026-01-01T00:00Z")  # in the trash: left there
    bobs = PhotoFactory(owner=bob, status="failed", last_error="His.")
    timeline = alice_client.get(reverse("gallery:timeline")).content.decode()
    assert "Retry all failed (2)" in timeline

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("gallery:retry_failed"))

    assert response.status_code == 302
    assert sorted(no_broker) == sorted([failed.pk, without_faces.pk])
    for photo in (failed, without_faces):
        photo.refresh_from_db()
        assert (photo.status, photo.faces_status, photo.attempts, photo.last_error) == ("queued", "pending", 0, "")
    fine.refresh_from_db()
    bobs.refresh_from_db()
    assert fine.status == "done" and bobs.status == "failed"


def test_retry_all_failed_answers_htmx_with_the_panel(alice, alice_client, no_broker):
    PhotoFactory(owner=alice, status="failed", last_error="Broken.")
    response = alice_client.post(reverse("gallery:retry_failed"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'id="processing"' in response.content and b"1 queued" in response.content


def test_retry_all_failed_takes_a_post_and_a_signed_in_user(alice_client):
    from django.test import Client

    assert alice_client.get(reverse("gallery:retry_failed")).status_code == 405
    response = Client().post(reverse("gallery:retry_failed"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_retrying_one_photo_without_faces_from_its_page_comes_back_to_it(alice, alice_client, bob_client, no_broker):
    photo = PhotoFactory(owner=alice, faces_status="failed", last_error="No pack.")
    assert bob_client.post(reverse("gallery:retry", args=[photo.pk]), {"from": "photo"}).status_code == 404
    response = alice_client.post(reverse("gallery:retry", args=[photo.pk]), {"from": "photo"})
    assert response["Location"] == reverse("gallery:photo", args=[photo.pk])
    photo.refresh_from_db()
    assert photo.status == "queued"


def test_check_face_pack_says_in_one_paragraph_how_to_point_the_setting_at_a_pack(missing_pack):
    out, err = io.StringIO(), io.StringIO()
    call_command("check_face_pack", stdout=out, stderr=err)
    paragraph = err.getvalue().strip()
    assert "\n" not in paragraph and out.getvalue() == ""
    assert f"Face pack folder '{missing_pack}' does not exist." in paragraph
    assert "SMARTGALLERY_FACE_PACK=" in paragraph and "make run" in paragraph and "Retry all failed" in paragraph
    with pytest.raises(CommandError):
        call_command("check_face_pack", "--strict", stdout=out, stderr=io.StringIO())


def test_check_face_pack_after_a_failed_download_gives_the_same_paragraph(offline_buffalo_l):
    err = io.StringIO()
    call_command("check_face_pack", stdout=io.StringIO(), stderr=err)
    paragraph = err.getvalue().strip()
    assert "\n" not in paragraph and "SMARTGALLERY_FACE_PACK=" in paragraph
    assert "the face pack 'buffalo_l' could not be downloaded" in paragraph and "HTTPSConnectionPool" not in paragraph


def test_check_face_pack_names_the_pack_it_loaded(fresh_engine):
    out = io.StringIO()
    call_command("check_face_pack", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith("Face pack face_default loaded (face_default:")


def test_photos_that_failed_for_one_reason_share_one_sentence(alice, alice_client):
    for _ in range(3):
        PhotoFactory(owner=alice, faces_status="failed", last_error=services.FACES_UNAVAILABLE)
    PhotoFactory(owner=alice, status="failed", last_error=services.UNREADABLE)
    page = alice_client.get(reverse("gallery:timeline")).content.decode()
    assert page.count("Face recognition is not set up") == 1
    assert "Shown without faces (3 photos): Face recognition is not set up" in page
    assert f"Could not process: {services.UNREADABLE}" in page
    assert page.count('aria-label="Retry photo-') == 4 and "Retry all failed (4)" in page
