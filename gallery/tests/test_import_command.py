"""manage.py import_photos: the upload service for a whole folder."""

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.commits import work_after_commit
from smartgallery.tests.factories import upload_photo


@pytest.fixture
def folder(tmp_path, faces_dir):
    root = tmp_path / "photos"
    (root / "trip").mkdir(parents=True)
    shutil.copy(faces_dir / "Barack_Obama/fr_obama.jpg", root / "a.jpg")
    shutil.copy(faces_dir / "Barack_Obama/fr_obama.jpg", root / "copy of a.jpg")  # duplicate
    shutil.copy(faces_dir / "_groups/deepface_couple.jpg", root / "trip" / "b.jpg")
    (root / "notes.txt").write_text("not a photo")
    (root / "fake.jpg").write_bytes(images.gif_bytes())
    (root / "cut.jpg").write_bytes(images.jpeg_bytes(300, 300)[:500])
    return root


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_photos", *args, stdout=out)
    return out.getvalue()


def test_it_imports_photos_skipping_duplicates_and_junk(folder, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        output = run(str(folder), "--user", "alice@example.com")
    assert Photo.objects.filter(owner=alice).count() == 1
    assert "Imported 1, already there 1, skipped 3" in output
    assert "notes.txt" in output and "fake.jpg" in output and "cut.jpg" in output
    assert len(work_after_commit(callbacks)) == 1  # queued for processing like an upload


def test_recursive_also_imports_sub_folders(folder, alice):
    output = run(str(folder), "--user", "alice@example.com", "--recursive")
    assert sorted(Photo.objects.values_list("original_filename", flat=True)) == ["a.jpg", "b.jpg"]
    assert "Imported 2" in output


def test_running_again_imports_nothing_new(folder, alice):
    run(str(folder), "--user", "alice@example.com", "--recursive")
    output = run(str(folder), "--user", "alice@example.com", "--recursive")
    assert Photo.objects.filter(owner=alice).count() == 2
    assert "Imported 0, already there 3" in output


def test_it_refuses_an_unknown_user_or_folder(folder, alice):
    with pytest.raises(CommandError, match="No user"):
        run(str(folder), "--user", "nobody@example.com")
    with pytest.raises(CommandError, match="not a folder"):
        run(str(folder / "missing"), "--user", "alice@example.com")


def test_requeue_stuck_command_uses_the_sweeper(alice):
    from datetime import timedelta

    from django.utils import timezone

    photo = upload_photo(alice)
    Photo.objects.filter(pk=photo.pk).update(queued_at=timezone.now() - timedelta(days=1))
    out = io.StringIO()
    call_command("requeue_stuck", stdout=out)
    assert "Re-queued 1" in out.getvalue()
