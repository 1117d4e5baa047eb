"""The error pages are in the layout, say what happened in plain words and offer a way back
(issue 14, bug 9). 500 and the CSRF refusal are rendered without the request (so a broken
database cannot break them too): they must not need it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from faces import services as face_services


def test_a_missing_page_is_in_the_layout_with_a_way_back_to_the_photos(alice_client):
    response = alice_client.get("/photos/999999/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in body and 'href="/static/css/app.css"' in body
    assert 'href="/photos/">Back to your photos</a>' in body and "Alice" in body  # signed-in layout


def test_a_missing_page_sends_a_visitor_home(client):
    body = client.get("/no-such-page/").content.decode()
    assert "<h1>Page not found</h1>" in body and 'href="/">Go to the home page</a>' in body


def test_another_users_photo_is_the_same_plain_404(alice, bob_client):
    from smartgallery.tests.factories import PhotoFactory

    photo = PhotoFactory(owner=alice)
    body = bob_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert "<h1>Page not found</h1>" in body and "No such photo" not in body


def test_a_saved_filter_link_whose_person_is_gone_says_so_and_offers_the_filter(alice, alice_client, bob):
    anna = face_services.person_create(user=alice, name="Anna")
    ben = face_services.person_create(user=alice, name="Ben")
    bobs = face_services.person_create(user=bob, name="Bob's friend")
    link = f"{reverse('faces:photo_filter')}?person={anna.pk}&person={ben.pk}&mode=and"
    assert alice_client.get(link).status_code == 200
    face_services.person_delete(user=alice, person_id=ben.pk)

    for url in (link, f"{reverse('faces:photo_filter')}?person={bobs.pk}"):
        response = alice_client.get(url)
        body = response.content.decode()
        assert response.status_code == 404
        assert "A person in this link is not among your people any more" in body
        assert f'href="{reverse("faces:photo_filter")}">Choose people again</a>' in body
        assert "Bob&#x27;s friend" not in body


def test_a_server_error_is_in_the_layout_and_needs_no_request(alice_client, monkeypatch):
    from gallery import selectors

    def broken(**kwargs):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(selectors, "photo_timeline", broken)
    alice_client.raise_request_exception = False
    response = alice_client.get(reverse("gallery:timeline"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in body and 'href="/static/css/app.css"' in body
    assert 'href="/photos/">Back to your photos</a>' in body and "fell over" not in body


def test_a_refused_form_is_explained_in_the_layout(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("gallery:retry_failed"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "<h1>This form has expired</h1>" in body and 'href="/photos/">Back to your photos</a>' in body


@pytest.mark.django_db
def test_a_forbidden_page_is_in_the_layout():
    request = RequestFactory().get("/somewhere/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = defaults.permission_denied(request, PermissionDenied())
    body = response.content.decode()
    assert response.status_code == 403
    assert "<h1>You cannot open this page</h1>" in body and 'href="/">Go to the home page</a>' in body
