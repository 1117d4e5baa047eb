import pytest
from django.urls import reverse

from faces.models import Face, Person
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, XSS, XSS_ESCAPED, count_queries, hx, make_cast
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

URL = reverse("faces:people")


@pytest.mark.django_db
def test_it_lists_named_people_with_counts_and_groups(alice_client, alice):
    cast = make_cast(alice)
    response = alice_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Anna" in html and "Ben" in html
    assert "2 faces · 2 photos" in html
    assert reverse("faces:group_name", args=[cast.group.id]) in html
    assert 'list="person-names"' in html and '<datalist id="person-names">' in html


@pytest.mark.django_db
def test_it_shows_only_the_users_own_people(alice_client, alice, bob):
    make_cast(alice)
    make_cast(bob, name="Bobs-secret-person", other_name="Bobs-other")
    html = alice_client.get(URL).content.decode()
    assert "Bobs-secret-person" not in html and "Bobs-other" not in html


@pytest.mark.django_db
def test_it_sorts_by_count_or_by_name(alice_client, alice):
    PersonFactory(owner=alice, name="Zoe", faces=3)
    PersonFactory(owner=alice, name="Adam", faces=1)
    by_count = alice_client.get(URL).content.decode()
    assert by_count.index("Zoe") < by_count.index("Adam")
    by_name = alice_client.get(URL, {"sort": "name"}).content.decode()
    assert by_name.index("Adam") < by_name.index("Zoe")


@pytest.mark.django_db
def test_the_sort_toggle_swaps_only_the_list_on_htmx(alice_client, alice):
    PersonFactory(owner=alice, name="Zoe")
    response = alice_client.get(URL, {"sort": "name"}, **hx(HTTP_HX_TARGET="people-list"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="people-list"')
    assert "<html" not in html and "Zoe" in html


@pytest.mark.django_db
def test_hidden_people_stay_behind_a_toggle(alice_client, alice):
    PersonFactory(owner=alice, name="Visible")
    PersonFactory(owner=alice, name="Shy", hidden=True)
    html = alice_client.get(URL).content.decode()
    assert "Visible" in html and 'class="person-name">Shy<' not in html
    assert "Show hidden people (1)" in html
    html = alice_client.get(URL, {"hidden": "1"}).content.decode()
    assert 'class="person-name">Shy<' in html


@pytest.mark.django_db
def test_groups_come_largest_first_with_a_few_sample_faces(alice_client, alice):
    small = FaceGroupFactory(owner=alice, faces=2)
    big = FaceGroupFactory(owner=alice, faces=9, faces__crop=True)
    html = alice_client.get(URL).content.decode()
    assert html.index(f'id="group-{big.id}"') < html.index(f'id="group-{small.id}"')
    big_card = html[html.index(f'id="group-{big.id}"') : html.index(f'id="group-{small.id}"')]
    assert big_card.count('alt="Unknown face"') == 6
    assert "Name all 9" in big_card


@pytest.mark.django_db
def test_the_empty_state_invites_to_upload(alice_client, alice):
    html = alice_client.get(URL).content.decode()
    assert "No people yet" in html and reverse("gallery:upload") in html


@pytest.mark.django_db
def test_the_empty_state_with_photos_invites_to_name_a_face(alice_client, alice):
    PhotoFactory(owner=alice)
    html = alice_client.get(URL).content.decode()
    assert "click a face to name it" in html


@pytest.mark.django_db
def test_face_thumbnails_use_the_owner_checked_crop_url_or_a_placeholder(alice_client, alice):
    with_crop = PersonFactory(owner=alice, name="Cropped", faces__crop=True)
    PersonFactory(owner=alice, name="Uncropped")
    html = alice_client.get(URL).content.decode()
    assert reverse("gallery:face_crop", args=[with_crop.cover_face_id]) in html
    assert 'class="face-thumb face-placeholder" role="img" aria-label="Uncropped"' in html


@pytest.mark.django_db
def test_names_are_escaped_in_the_page_and_the_partial(alice_client, alice):
    PersonFactory(owner=alice, name=XSS)
    for response in (
        alice_client.get(URL),
        alice_client.get(URL, **hx(HTTP_HX_TARGET="people-list")),
        alice_client.get(URL, **hx(HTTP_HX_TARGET="groups")),
    ):
        html = response.content.decode()
        assert XSS not in html
    assert XSS_ESCAPED in alice_client.get(URL).content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def _many(owner, n):
    for i in range(n):
        person = PersonFactory(owner=owner, name=f"Person {owner.pk}-{i}", faces=2, faces__crop=True)
        FaceFactory(owner=owner, person=person, state=Face.State.SUGGESTED)
        FaceGroupFactory(owner=owner, faces=8)


@pytest.mark.django_db
def test_the_page_query_count_does_not_grow_with_people_and_groups(
    alice_client, alice, bob_client, bob, django_assert_max_num_queries
):
    _many(bob, 2)
    _many(alice, 40)
    assert count_queries(alice_client, URL) == count_queries(bob_client, URL)
    alice_client.get(URL)
    with django_assert_max_num_queries(REQUEST_OVERHEAD_QUERIES + 5):
        response = alice_client.get(URL)
    assert response.content.decode().count('class="group-card card"') == 24
    assert Person.objects.filter(owner=alice).count() == 40
