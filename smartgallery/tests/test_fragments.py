"""Page regions kept rendered until the owner's library changes (smartgallery.fragments), as the
People page keeps its whole body: every browser gets its own CSRF token in the kept forms, a
change shows at once, and nobody is served another owner's or another query's HTML."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from faces.models import FaceGroup, Person
from gallery.models import Photo
from smartgallery.fragments import CSRF_PLACEHOLDER
from smartgallery.tests.factories import FaceGroupFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.django_db

PEOPLE = "/people/"


def _browser(user) -> Client:
    """A browser of its own (its own CSRF cookie), signed in, that checks CSRF as a real one."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def _name_group_form(html: str, group: FaceGroup) -> str:
    action = reverse("faces:group_name", args=[group.pk])
    form = html[html.index(f'action="{action}"') :]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)


def test_each_browser_posts_the_kept_forms_with_its_own_token(alice):
    groups = [FaceGroupFactory(owner=alice, faces=2) for _ in range(2)]
    first, second = _browser(alice), _browser(alice)
    pages = [browser.get(PEOPLE).content.decode() for browser in (first, second)]  # rendered, then kept
    assert CSRF_PLACEHOLDER not in pages[0] + pages[1]

    for browser, html, group, name in ((first, pages[0], groups[0], "Anna"), (second, pages[1], groups[1], "Ben")):
        token = _name_group_form(html, group)
        response = browser.post(
            reverse("faces:group_name", args=[group.pk]), {"name": name, "all": "1", "csrfmiddlewaretoken": token}
        )

        assert response.status_code == 302, response.content[:300]
    assert set(Person.objects.filter(owner=alice).values_list("name", flat=True)) == {"Anna", "Ben"}


def _people_list(html: str) -> str:
    start = html.index('<section id="people-list"')
    return html[start : html.index("</section>", start)]


def test_a_change_shows_at_once(alice, alice_client):
    person = PersonFactory(owner=alice, name="Anna")
    assert "Anna" in alice_client.get(PEOPLE).content.decode()

    Person.objects.filter(pk=person.pk).update(name="Annabel")

    assert "Annabel" in alice_client.get(PEOPLE).content.decode()


def test_each_owner_and_each_query_has_its_own_html(alice, alice_client, bob, bob_client):
    PersonFactory(owner=alice, name="Anna")
    PersonFactory(owner=alice, name="Zoe")
    PersonFactory(owner=bob, name="Bert")
    alice_client.get(PEOPLE)
    alice_client.get(PEOPLE, {"q": "zo"})

    bobs = bob_client.get(PEOPLE).content.decode()
    assert "Bert" in bobs and "Anna" not in bobs
    found = _people_list(alice_client.get(PEOPLE, {"q": "an"}).content.decode())
    assert "Anna" in found and "Zoe" not in found
    htmx = alice_client.get(PEOPLE, headers={"HX-Request": "true", "HX-Target": "people-list"}).content.decode()
    assert htmx.lstrip().startswith('<section id="people-list"') and "<html" not in htmx


def test_a_new_account_with_a_deleted_accounts_id_gets_none_of_its_html(alice, alice_client):
    PersonFactory(owner=alice, name="Anna")
    assert "Anna" in alice_client.get(PEOPLE).content.decode()
    pk = alice.pk
    alice.delete()

    newcomer = get_user_model().objects.create_user("new@example.com", "pw-new-123456", pk=pk)
    browser = Client()
    browser.force_login(newcomer)

    assert "Anna" not in browser.get(PEOPLE).content.decode()


@pytest.mark.parametrize("page", ["people", "person", "group", "photo_filter"])
def test_every_kept_page_shows_a_rename_at_once(alice, alice_client, page):
    anna = PersonFactory(owner=alice, name="Anna")
    group = FaceGroupFactory(owner=alice, faces=2)
    url = {
        "people": PEOPLE,
        "person": reverse("faces:person", args=[anna.pk]),
        "group": reverse("faces:group", args=[group.pk]),
        "photo_filter": reverse("faces:photo_filter"),
    }[page]
    assert "Anna" in alice_client.get(url).content.decode()
    assert "Anna" in alice_client.get(url).content.decode()  # from the cache

    anna.name = "Annabel"
    anna.save()

    assert "Annabel" in alice_client.get(url).content.decode()


@pytest.mark.parametrize("page", ["timeline", "photo"])
def test_the_kept_photo_pages_show_a_change_at_once(alice, alice_client, page):
    photo = PhotoFactory(owner=alice, original_filename="beach.jpg")
    url = reverse("gallery:timeline") if page == "timeline" else reverse("gallery:photo", args=[photo.pk])
    assert "beach.jpg" in alice_client.get(url).content.decode()
    assert "beach.jpg" in alice_client.get(url).content.decode()  # from the cache

    Photo.objects.filter(pk=photo.pk).update(original_filename="mountain.jpg")

    html = alice_client.get(url).content.decode()
    assert "mountain.jpg" in html and "beach.jpg" not in html
