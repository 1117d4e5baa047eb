"""Uploading photos: one file per request (our JS) or many (the plain form), and bad inputs (catalogue A)."""

import io
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.commits import work_after_commit

URL = reverse("gallery:upload")
HX = {"HTTP_HX_REQUEST": "true"}


def post(client, *files, **headers):
    return client.post(URL, {"files": list(files)}, **headers)


def stored_files(user) -> list[str]:
    root = Path(settings.MEDIA_ROOT) / str(user.pk)
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_the_upload_page_shows_the_form(alice_client):
    response = alice_client.get(URL)
    assert response.status_code == 200
    assert b'type="file" name="files" multiple' in response.content
    assert b"js/upload.js" in response.content


def test_it_stores_a_photo_and_queues_it_after_commit(alice_client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(alice_client, SimpleUploadedFile("beach.jpg", images.jpeg_bytes()), **HX)
    assert response.status_code == 201
    assert b"upload-accepted" in response.content and b"beach.jpg" in response.content
    photo = Photo.objects.get(owner=alice)
    assert photo.status == "queued" and photo.queued_at is not None
    assert photo.original.name.startswith(f"{alice.pk}/originals/") and photo.original.name.endswith(".jpg")
    assert default_storage.exists(photo.original.name)
    assert len(work_after_commit(callbacks)) == 1


def test_no_task_is_sent_when_the_transaction_rolls_back(alice, django_capture_on_commit_callbacks, monkeypatch):
    from django.db import transaction

    from gallery import services

    sent = []
    monkeypatch.setattr(services, "photo_enqueue", lambda *, photo_id: sent.append(photo_id))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.photo_create(owner=alice, file=SimpleUploadedFile("a.jpg", images.jpeg_bytes()), filename="a.jpg")
            raise RuntimeError("roll back")
    assert sent == []


def test_many_files_without_javascript_each_get_a_result(alice_client, alice):
    good = SimpleUploadedFile("good.jpg", images.jpeg_bytes())
    bad = SimpleUploadedFile("bad.jpg", b"not an image")
    response = post(alice_client, good, bad)
    assert response.status_code == 200
    assert b"<html" in response.content
    assert response.content.count(b'<li class="upload-result') == 2
    assert b"upload-rejected" in response.content and b"upload-accepted" in response.content
    assert Photo.objects.filter(owner=alice).count() == 1


def test_anonymous_cannot_upload(client, db):
    response = post(client, SimpleUploadedFile("a.jpg", images.jpeg_bytes()))
    assert response.status_code == 302 and "login" in response["Location"]
    assert not Photo.objects.exists()


def assert_rejected(response, user, status=400, text=""):
    assert response.status_code == status, response.content[:500]
    assert b"upload-rejected" in response.content
    assert text.encode() in response.content
    assert not Photo.objects.filter(owner=user).exists()
    assert stored_files(user) == []


@pytest.mark.catalogue("A1")
def test_an_empty_file_is_rejected(alice_client, alice):
    assert_rejected(post(alice_client, SimpleUploadedFile("x.jpg", b""), **HX), alice, text="empty")


@pytest.mark.catalogue("A2")
def test_a_gif_renamed_jpg_is_rejected(alice_client, alice):
    assert_rejected(
        post(alice_client, SimpleUploadedFile("x.jpg", images.gif_bytes()), **HX), alice, text="not a supported photo"
    )


@pytest.mark.parametrize("body", [b"hello, I am text", b"<html><script>alert(1)</script></html>"])
@pytest.mark.catalogue("A3")
def test_text_or_html_renamed_jpg_is_rejected(alice_client, alice, body):
    assert_rejected(post(alice_client, SimpleUploadedFile("x.jpg", body), **HX), alice)


@pytest.mark.parametrize("name", ["x.svg", "x.jpg", "x.png"])
@pytest.mark.catalogue("A4")
def test_svg_with_onload_is_rejected(alice_client, alice, name):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
    assert_rejected(post(alice_client, SimpleUploadedFile(name, svg), **HX), alice)


def polyglot() -> bytes:
    return images.encode(Image.new("RGB", (16, 16), "green"), "PNG") + b"<html><script>alert(1)</script></html>"


@pytest.mark.catalogue("A5")
def test_a_png_html_polyglot_is_accepted_as_png(alice_client, alice):
    response = post(alice_client, SimpleUploadedFile("poly.png", polyglot()), **HX)
    assert response.status_code == 201
    photo = Photo.objects.get(owner=alice)
    assert photo.image_format == "PNG" and photo.original.name.endswith(".png")
    original = alice_client.get(reverse("gallery:original", args=[photo.pk]))
    assert original["Content-Type"] == "image/png"
    assert original["X-Content-Type-Options"] == "nosniff"
    assert original["Content-Disposition"].startswith("attachment")
    assert "sandbox" in original["Content-Security-Policy"]


@pytest.mark.parametrize("name", ["IMG_0001.jpg", "DSCF0001.MPO"])
def test_a_multi_picture_jpeg_is_stored_and_downloaded_as_jpeg(alice_client, alice, name):
    data = images.mpo_bytes()
    assert Image.open(io.BytesIO(data)).format == "MPO"  # what Pillow calls it

    response = post(alice_client, SimpleUploadedFile(name, data), **HX)

    assert response.status_code == 201
    photo = Photo.objects.get(owner=alice)
    assert photo.image_format == "JPEG" and photo.original.name.endswith(".jpg")
    original = alice_client.get(reverse("gallery:original", args=[photo.pk]))
    assert original["Content-Type"] == "image/jpeg"
    assert original["Content-Disposition"].endswith('.jpg"')
    assert b"".join(original.streaming_content) == data  # the original, all of its pictures


def test_photos_stored_as_mpo_before_are_jpeg_after_the_migration(alice_client, alice):
    import importlib

    from django.apps import apps

    from smartgallery.tests.factories import PhotoFactory

    earlier = PhotoFactory(owner=alice, image_format="MPO", stored=True)
    assert (
        alice_client.get(reverse("gallery:original", args=[earlier.pk]))["Content-Type"] == "application/octet-stream"
    )

    importlib.import_module("gallery.migrations.0003_mpo_photos_are_jpeg").mpo_is_jpeg(apps, None)

    original = alice_client.get(reverse("gallery:original", args=[earlier.pk]))
    assert original["Content-Type"] == "image/jpeg" and original["Content-Disposition"].endswith('.jpg"')


@pytest.mark.parametrize("name", ["poly.html", "poly.php", "poly.jpg.php", "a.php%00.jpg"])
@pytest.mark.catalogue("A6")
def test_the_polyglot_with_a_script_name_is_rejected(alice_client, alice, name):
    assert_rejected(post(alice_client, SimpleUploadedFile(name, polyglot()), **HX), alice)


@pytest.mark.catalogue("A7")
def test_a_tiny_png_claiming_400_megapixels_is_rejected_fast(alice_client, alice):
    import time

    started = time.monotonic()
    response = post(alice_client, SimpleUploadedFile("bomb.png", images.png_header_only(20_000, 20_000)), **HX)
    assert time.monotonic() - started < 1
    assert_rejected(response, alice, text="too large")


@pytest.mark.catalogue("A8")
def test_a_100_megapixel_png_is_rejected_by_our_cap(alice_client, alice):
    assert_rejected(
        post(alice_client, SimpleUploadedFile("big.png", images.png_header_only(10_000, 10_000)), **HX),
        alice,
        text="megapixels",
    )


@pytest.mark.catalogue("A8")
def test_the_same_png_passes_plain_djangos_image_field_but_not_our_validation(settings):
    """The control: stock Django validation lets the 100 MP file through, so the rejection above
    is ours (gallery.validation with SMARTGALLERY_MAX_PIXELS), not something Django does anyway."""
    from django import forms

    from gallery.validation import ImageRejected, validate_image

    data = images.png_header_only(10_000, 10_000)
    with pytest.warns(Image.DecompressionBombWarning):  # Pillow only warns; Django goes on
        forms.ImageField().clean(SimpleUploadedFile("big.png", data))
    assert 10_000 * 10_000 > settings.SMARTGALLERY_MAX_PIXELS
    with pytest.raises(ImageRejected, match="megapixels"):
        validate_image(
            io.BytesIO(data),
            name="big.png",
            max_bytes=settings.SMARTGALLERY_MAX_UPLOAD_BYTES,
            max_pixels=settings.SMARTGALLERY_MAX_PIXELS,
        )


@pytest.mark.catalogue("A9")
def test_a_truncated_jpeg_is_rejected(alice_client, alice):
    data = images.jpeg_bytes(640, 480)
    assert_rejected(
        post(alice_client, SimpleUploadedFile("cut.jpg", data[: len(data) // 2]), **HX), alice, text="damaged"
    )


@pytest.mark.catalogue("A9")
def test_a_jpeg_without_its_end_marker_is_rejected(alice_client, alice):
    data = images.jpeg_bytes(640, 480)
    assert data.endswith(b"\xff\xd9")
    assert_rejected(post(alice_client, SimpleUploadedFile("cut.jpg", data[:-200]), **HX), alice, text="damaged")


@pytest.mark.catalogue("A10")
def test_a_file_over_the_limit_gets_413_and_leaves_no_temporary_file(alice_client, alice, settings, tmp_path):
    settings.SMARTGALLERY_MAX_UPLOAD_BYTES = 50_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000  # so the upload streams to a temporary file
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data = images.jpeg_bytes(64, 48) + b"\0" * 50_001
    response = post(alice_client, SimpleUploadedFile("huge.jpg", data), **HX)
    assert_rejected(response, alice, status=413, text="larger than the limit")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.catalogue("A10")
def test_the_limit_also_holds_for_a_file_that_fits_in_memory(alice_client, alice, settings):
    settings.SMARTGALLERY_MAX_UPLOAD_BYTES = 1_000
    assert_rejected(
        post(alice_client, SimpleUploadedFile("x.jpg", images.jpeg_bytes(200, 200)), **HX), alice, status=413
    )


def csrf_browser(user):
    """A client that checks CSRF tokens, as a browser's requests are checked: the CSRF
    middleware then reads the form body before any view does."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get(URL)
    return browser, browser.cookies["csrftoken"].value


def post_with_token(browser, token, *files, htmx=False):
    if htmx:  # our upload script: one file, the token in a header
        return browser.post(URL, {"files": list(files)}, HTTP_X_CSRFTOKEN=token, **HX)
    return browser.post(URL, {"files": list(files), "csrfmiddlewaretoken": token})


@pytest.mark.catalogue("A11")
@pytest.mark.parametrize("htmx", [False, True])
def test_too_many_files_in_one_request_is_400_with_our_message(alice, htmx):
    browser, token = csrf_browser(alice)
    files = [SimpleUploadedFile(f"{i}.jpg", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]

    response = post_with_token(browser, token, *files, htmx=htmx)

    assert response.status_code == 400
    html = response.content.decode()
    assert f"Too many files in one go: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}" in html
    assert ('class="brand"' in html) != htmx  # the page in our layout, or the result row for the script
    assert "upload-result" in html or not htmx
    assert not Photo.objects.filter(owner=alice).exists()


def raw_upload(browser, token, filename: str, data: bytes, *, htmx: bool):
    """A multipart body written out by hand: Django's test client (through UploadedFile)
    cuts file names to 255 characters, a browser sends them whole."""
    boundary = "----sgtestboundary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'.encode(),
            b"Content-Type: image/jpeg\r\n\r\n",
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    headers = {"HTTP_X_CSRFTOKEN": token, **HX} if htmx else {}
    return browser.generic("POST", URL, body, content_type=f"multipart/form-data; boundary={boundary}", **headers)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_file_name_too_long_to_read_is_400_with_our_message(alice, htmx):
    browser, token = csrf_browser(alice)

    response = raw_upload(browser, token, "a" * 1200 + ".jpg", images.jpeg_bytes(), htmx=htmx)

    assert response.status_code == 400
    html = response.content.decode()
    assert "If a file name is very long, shorten it" in html
    assert ('class="brand"' in html) != htmx
    assert "Bad Request (400)" not in html
    assert not Photo.objects.filter(owner=alice).exists()


def test_a_file_name_of_a_few_hundred_characters_is_still_fine(alice):
    browser, token = csrf_browser(alice)
    response = raw_upload(browser, token, "a" * 800 + ".jpg", images.jpeg_bytes(), htmx=True)
    assert response.status_code == 201
    assert len(Photo.objects.get(owner=alice).original_filename) == 255  # shown shortened


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.jpg",
        "..\\..\\x.jpg",
        "/abs/x.jpg",
        "nul\x00byte.jpg",
        "a" * 300 + ".jpg",
        "photo\u202egpj.jpg",
        "😀 party.jpg",
        "Cafe\u0301.jpg",
    ],
)
@pytest.mark.catalogue("A12")
def test_hostile_file_names_never_reach_the_disk(alice_client, alice, name):
    response = post(alice_client, SimpleUploadedFile(name, images.jpeg_bytes()), **HX)
    assert response.status_code == 201, response.content
    photo = Photo.objects.get(owner=alice)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    stored = Path(default_storage.path(photo.original.name)).resolve()
    assert stored.is_relative_to(media_root / str(alice.pk) / "originals")
    assert len(stored.stem) == 32  # a generated uuid, nothing of the client's name
    assert len(photo.original_filename) <= 255
    assert "/" not in photo.original_filename and "\\" not in photo.original_filename
    assert "\x00" not in photo.original_filename and "\u202e" not in photo.original_filename
    download = alice_client.get(reverse("gallery:original", args=[photo.pk]))
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;")
    if not photo.original_filename.isascii():
        assert "filename*=utf-8''" in disposition


XSS = "<img src=x onerror=alert(1)>.jpg"


@pytest.mark.catalogue("A13")
def test_a_hostile_file_name_is_escaped_in_the_result_and_every_page(alice_client, alice):
    response = post(alice_client, SimpleUploadedFile(XSS, images.jpeg_bytes()), **HX)
    photo = Photo.objects.get(owner=alice)
    pages = [
        response,
        alice_client.get(reverse("gallery:timeline")),
        alice_client.get(reverse("gallery:timeline"), **HX),
        alice_client.get(reverse("gallery:tile", args=[photo.pk]), **HX),
        alice_client.get(reverse("gallery:photo", args=[photo.pk])),
    ]
    for page in pages:
        assert b"&lt;img src=x onerror=alert(1)&gt;" in page.content
        assert b"<img src=x onerror" not in page.content


@pytest.mark.catalogue("A12")
def test_a_name_that_hides_an_exe_behind_a_bidi_override_is_refused(alice_client, alice):
    # "\u202egpj.exe" displays as "exe.jpg"; its real extension is .exe, which is no photo.
    assert_rejected(post(alice_client, SimpleUploadedFile("\u202egpj.exe", images.jpeg_bytes()), **HX), alice)


@pytest.mark.catalogue("A13")
def test_a_rejected_hostile_name_is_escaped_too(alice_client):
    response = post(alice_client, SimpleUploadedFile(XSS, b"junk"), **HX)
    assert response.status_code == 400
    assert b"<img src=x onerror" not in response.content and b"&lt;img src=x onerror=alert(1)&gt;" in response.content


@pytest.mark.catalogue("A14")
def test_no_template_marks_anything_safe():
    templates = Path(settings.BASE_DIR, "templates", "gallery")
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert "|safe" not in text and "autoescape off" not in text, template


@pytest.mark.parametrize(
    "name, data",
    [
        ("x.jpg", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
        ("x.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
        ("x.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
        ("x.jpg", images.encode(Image.new("RGB", (8, 8)), "TGA")),
        ("x.jpg", images.encode(Image.new("RGB", (16, 16)), "ICO")),
        ("x.ico", images.encode(Image.new("RGB", (16, 16)), "ICO")),
        ("x.jpg", b"8BPS\x00\x01" + b"\x00" * 20),
        ("x.jpg", b"SIMPLE  =                    T" + b" " * 50),
    ],
)
@pytest.mark.catalogue("A17")
def test_foreign_formats_are_rejected_and_ghostscript_never_runs(alice_client, alice, monkeypatch, name, data):
    def forbidden(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "check_call", forbidden)
    assert_rejected(post(alice_client, SimpleUploadedFile(name, data), **HX), alice)


@pytest.mark.catalogue("A18")
def test_over_quota_is_413_with_a_message_and_bob_is_unaffected(alice_client, bob_client, alice, bob, settings):
    first = images.jpeg_bytes(color=(1, 2, 3))
    settings.SMARTGALLERY_USER_QUOTA_BYTES = len(first) + 10
    assert post(alice_client, SimpleUploadedFile("a.jpg", first), **HX).status_code == 201
    response = post(alice_client, SimpleUploadedFile("b.jpg", images.jpeg_bytes(color=(9, 9, 9))), **HX)
    assert response.status_code == 413
    assert b"quota" in response.content
    assert Photo.objects.filter(owner=alice).count() == 1
    assert post(bob_client, SimpleUploadedFile("b.jpg", images.jpeg_bytes(color=(9, 9, 9))), **HX).status_code == 201


@pytest.mark.catalogue("A19")
def test_the_same_photo_twice_is_one_photo_and_the_user_is_told(
    alice_client, alice, django_capture_on_commit_callbacks
):
    data = images.jpeg_bytes()
    with django_capture_on_commit_callbacks() as callbacks:
        first = post(alice_client, SimpleUploadedFile("one.jpg", data), **HX)
        second = post(alice_client, SimpleUploadedFile("two.jpg", data), **HX)
    assert first.status_code == 201 and second.status_code == 200
    assert b"Already in your gallery" in second.content
    assert Photo.objects.filter(owner=alice).count() == 1
    assert len(stored_files(alice)) == 1
    assert len(work_after_commit(callbacks)) == 1  # processed once


@pytest.mark.catalogue("A19")
def test_a_duplicate_that_races_past_the_check_is_still_one_photo(alice, monkeypatch):
    from gallery import services

    data = images.jpeg_bytes()
    services.photo_create(owner=alice, file=SimpleUploadedFile("one.jpg", data), filename="one.jpg")
    real_filter = Photo.objects.filter
    calls = []

    def blind_first_check(*args, **kwargs):
        # The first duplicate check misses (the other upload had not committed yet).
        calls.append(kwargs)
        qs = real_filter(*args, **kwargs)
        return qs.none() if len(calls) == 1 else qs

    monkeypatch.setattr(Photo.objects, "filter", blind_first_check)
    photo, created = services.photo_create(owner=alice, file=SimpleUploadedFile("two.jpg", data), filename="two.jpg")
    monkeypatch.undo()
    assert created is False
    assert Photo.objects.filter(owner=alice).count() == 1
    assert len(stored_files(alice)) == 1


def test_the_same_photo_for_two_users_is_two_photos(alice_client, bob_client):
    data = images.jpeg_bytes()
    assert post(alice_client, SimpleUploadedFile("a.jpg", data), **HX).status_code == 201
    assert post(bob_client, SimpleUploadedFile("a.jpg", data), **HX).status_code == 201
    assert Photo.objects.count() == 2


@pytest.mark.catalogue("D12")
def test_a_storage_failure_is_a_clean_507_and_leaves_nothing(alice_client, alice, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full)
    response = post(alice_client, SimpleUploadedFile("a.jpg", images.jpeg_bytes()), **HX)
    assert response.status_code == 507
    assert b"could not be stored" in response.content
    assert not Photo.objects.exists()


def test_a_failing_row_write_removes_the_stored_file(alice, monkeypatch):
    from gallery import services

    def broken(self, *args, **kwargs):
        raise RuntimeError("database said no")

    monkeypatch.setattr(Photo, "save", broken)
    with pytest.raises(RuntimeError):
        services.photo_create(owner=alice, file=SimpleUploadedFile("a.jpg", images.jpeg_bytes()), filename="a.jpg")
    monkeypatch.undo()
    assert stored_files(alice) == []
