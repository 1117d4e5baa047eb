"""Catalogue B: another user gets 404 on every id-taking gallery URL; anonymous never gets bytes.

The URL list comes from the URLconf, so a new route is covered the day it is added.
"""

import pytest
from django.urls import URLPattern, reverse

from faces.models import Face
from gallery import services
from gallery import urls as gallery_urls
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import upload_photo
from smartgallery.tests.pages import without_csrf_tokens

POST_ONLY = {"retry", "delete", "restore", "purge"}
TRASH_ROUTES = {"restore", "purge"}  # reach only a photo in the trash
ID_ROUTES = [p.name for p in gallery_urls.urlpatterns if isinstance(p, URLPattern) and "<int:pk>" in str(p.pattern)]
FACE_ROUTES = {"face_crop"}


@pytest.fixture
def alices(alice):
    photo = upload_photo(alice, images.jpeg_bytes(200, 150))
    photo.thumbnail.name = photo.preview.name = photo.original.name  # media present for every route
    photo.status = Photo.Status.FAILED
    photo.save()
    face = Face.objects.create(
        owner=alice, photo=photo, x1=1, y1=1, x2=50, y2=50, det_score=0.9, size_px=49, crop=photo.original.name
    )
    return {"photo": photo, "face": face}


def url_for(name, alices):
    """The route's URL for alice's object; a trash route's photo is put in the trash first."""
    if name in TRASH_ROUTES:
        services.photo_trash(photo=alices["photo"])
    target = alices["face"] if name in FACE_ROUTES else alices["photo"]
    return reverse(f"gallery:{name}", args=[target.pk])


def snapshot():
    return (
        sorted(Photo.objects.values_list("pk", "status", "attempts", "original", "last_error", "deleted_at")),
        sorted(Face.objects.values_list("pk", "photo_id", "state")),
    )


def test_the_list_of_id_routes_is_complete():
    assert set(ID_ROUTES) == {
        "photo",
        "tile",
        "original",
        "preview",
        "thumbnail",
        "retry",
        "delete",
        "restore",
        "purge",
        "face_crop",
    }


@pytest.mark.parametrize("name", ID_ROUTES)
def test_alice_reaches_her_own_objects(alice_client, alices, name):
    method = alice_client.post if name in POST_ONLY else alice_client.get
    assert method(url_for(name, alices)).status_code in (200, 302)


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("name", ID_ROUTES)
@pytest.mark.catalogue("B1", "B2")
def test_bob_gets_404_on_every_alice_url_and_changes_nothing(bob_client, bob, alices, name, htmx):
    upload_photo(bob)  # bob has data of his own
    url = url_for(name, alices)
    before = snapshot()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    method = bob_client.post if name in POST_ONLY else bob_client.get
    response = method(url, **headers)
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("name", ID_ROUTES)
@pytest.mark.catalogue("B5")
def test_a_foreign_id_and_a_missing_id_answer_alike(bob_client, alices, name):
    method = bob_client.post if name in POST_ONLY else bob_client.get
    foreign = method(url_for(name, alices))
    missing = method(reverse(f"gallery:{name}", args=[987654]))
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf_tokens(foreign.content) == without_csrf_tokens(missing.content)


@pytest.mark.parametrize("name", ID_ROUTES)
@pytest.mark.catalogue("B6")
def test_anonymous_is_sent_to_login_and_never_gets_bytes(client, alices, name):
    method = client.post if name in POST_ONLY else client.get
    response = method(url_for(name, alices))
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize("name", ["timeline", "upload", "processing"])
@pytest.mark.catalogue("B6")
def test_anonymous_is_sent_to_login_from_the_pages(client, db, name):
    response = client.get(reverse(f"gallery:{name}"))
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.catalogue("B7")
def test_there_is_no_url_for_the_storage_path(alice_client, alices):
    photo = alices["photo"]
    for prefix in ("/media/", "/protected-media/", "/"):
        assert alice_client.get(prefix + photo.original.name).status_code == 404


@pytest.mark.catalogue("B8")
def test_bobs_pages_show_nothing_of_alice(bob_client, alices, alice):
    alices["photo"].original_filename = "alice-secret.jpg"
    alices["photo"].save()
    for name in ("timeline", "upload", "processing"):
        content = bob_client.get(reverse(f"gallery:{name}")).content
        assert b"alice-secret" not in content
        assert f"/photos/{alices['photo'].pk}/".encode() not in content


def test_get_never_changes_state(alice_client, alices):
    photo = alices["photo"]
    for name in POST_ONLY:
        assert alice_client.get(reverse(f"gallery:{name}", args=[photo.pk])).status_code == 405
    assert Photo.objects.filter(pk=photo.pk, status="failed").exists()


@pytest.mark.catalogue("C9")
def test_posts_need_the_csrf_token(alices, alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("gallery:delete", args=[alices["photo"].pk])).status_code == 403
    assert client.post(reverse("gallery:upload")).status_code == 403
    assert Photo.objects.filter(pk=alices["photo"].pk).exists()
