"""reindex and reprocess, and the account-deletion cleanup of index files."""

from __future__ import annotations

import io
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from faces import index as face_index
from faces import index_cache, recognition_model, services
from faces.models import Face, FaceRejection, RecognitionIndex
from faces.tests.people import Library
from gallery.models import Photo

pytestmark = pytest.mark.usefixtures("fresh_process_cache")


@pytest.fixture
def library(alice, detections, engine):
    model_id = recognition_model.current_model().model_id
    library = Library(alice, detections, model_id, ["Ariel_Sharon", "Tony_Blair"], per_identity=6)
    first = library.faces["Ariel_Sharon"]
    person = services.face_assign(user=alice, face_id=first[0].id, name="Ariel").person_created
    for face in first[1:3]:
        services.face_assign(user=alice, face_id=face.id, person_id=person)
    library.person_id = person
    return library


def test_reindex_sync_rebuilds_and_rematches_with_a_summary(alice, library):
    out = io.StringIO()
    call_command("reindex", "--user", alice.email, "--sync", stdout=out)
    rest = [f.id for f in library.faces["Ariel_Sharon"][3:]]
    assert Face.objects.filter(pk__in=rest, person_id=library.person_id).count() == 3
    # The 3 confirmed faces and the automatic names of the rematch are the references.
    automatic = Face.objects.filter(owner=alice, state=Face.State.AUTO).count()
    assert f"{3 + automatic} reference faces" in out.getvalue() and "Rebuilt 1 index(es)" in out.getvalue()
    record = RecognitionIndex.objects.get(owner=alice)
    assert record.built_version == record.labels_version


def test_reindex_keeps_rejections_and_confirmed_faces(alice, library):
    call_command("reindex", "--all", "--sync", stdout=io.StringIO())
    rejected = library.faces["Ariel_Sharon"][4]
    services.face_not_this_person(user=alice, face_id=rejected.id)
    confirmed = sorted(Face.objects.filter(owner=alice, state=Face.State.CONFIRMED).values_list("id", "person_id"))

    call_command("reindex", "--all", "--sync", stdout=io.StringIO())

    rejected.refresh_from_db()
    assert rejected.person_id != library.person_id
    assert FaceRejection.objects.filter(face=rejected, person_id=library.person_id).exists()
    after = sorted(Face.objects.filter(owner=alice, state=Face.State.CONFIRMED).values_list("id", "person_id"))
    assert after == confirmed


def test_reindex_without_sync_queues_one_task_per_user(alice, bob, library):
    with mock.patch("faces.tasks.index_rebuild.delay") as delay:
        call_command("reindex", "--all", stdout=io.StringIO())
    assert [c.args for c in delay.call_args_list] == [(alice.id,)]


def test_reindex_unknown_user_is_an_error(db):
    with pytest.raises(CommandError):
        call_command("reindex", "--user", "nobody@example.com", stdout=io.StringIO())


def test_reprocess_queues_photos_through_the_pipeline(alice, library, django_capture_on_commit_callbacks):
    with mock.patch("gallery.services.photo_enqueue") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            out = io.StringIO()
            call_command("reprocess", "--user", alice.email, "--all", stdout=out)
    photos = Photo.objects.filter(owner=alice).count()
    assert enqueue.call_count == photos
    assert f"Queued {photos} photo(s)" in out.getvalue()
    assert set(Photo.objects.filter(owner=alice).values_list("status", flat=True)) == {Photo.Status.QUEUED}


def test_reprocess_missing_only_takes_photos_of_another_model(alice, library):
    current = recognition_model.current_model().model_id
    Photo.objects.filter(owner=alice).update(faces_model_id=current)
    old = Photo.objects.filter(owner=alice).first()
    Photo.objects.filter(pk=old.pk).update(faces_model_id="old:model")
    with mock.patch("gallery.services.photo_enqueue"):
        call_command("reprocess", "--missing", stdout=io.StringIO())
    assert list(Photo.objects.filter(status=Photo.Status.QUEUED).values_list("id", flat=True)) == [old.id]


def test_deleting_an_account_removes_its_people_and_index_files(alice, library, django_capture_on_commit_callbacks):
    from accounts.deletion import user_data_cleanups

    assert services.user_faces_delete in user_data_cleanups()
    index_cache.get_index(alice.id)
    folder = face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, alice.id).parent
    assert folder.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.user_faces_delete(alice)
    assert not folder.exists()
    assert not RecognitionIndex.objects.filter(owner_id=alice.id).exists()
