"""B12: deleting an account removes the user's photos and, after commit, every file of theirs."""

from django.core.files.storage import default_storage

from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import upload_photo


def test_deleting_alice_removes_her_photos_and_files_and_leaves_bob_alone(
    alice, bob, django_capture_on_commit_callbacks
):
    from accounts.services import user_delete

    mine = upload_photo(alice, images.jpeg_bytes(50, 50))
    crop = default_storage.save(f"{alice.pk}/faces/a.jpg", default_storage.open(mine.original.name))
    bobs = upload_photo(bob, images.jpeg_bytes(50, 50))
    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=alice)
    assert not Photo.objects.filter(pk=mine.pk).exists()
    assert not default_storage.exists(mine.original.name) and not default_storage.exists(crop)
    assert not default_storage.exists(str(alice.pk))
    assert default_storage.exists(bobs.original.name)
