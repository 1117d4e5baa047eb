import re

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
    assert response.content.decode().count('class="group-card card"') == 12  # a page of groups (views.GROUPS_SHOWN)
    assert Person.objects.filter(owner=alice).count() == 40


# Name search ("Find a person") --------------------------------------------------------------


def _names(html: str) -> set[str]:
    return set(re.findall(r'class="person-name">([^<]*)<', html))


@pytest.mark.django_db
def test_the_search_finds_people_by_part_of_their_name(alice_client, alice):
    for name in ("Anna Schmidt", "Joanna", "Ben"):
        PersonFactory(owner=alice, name=name)
    html = alice_client.get(URL, {"q": "ANNA"}).content.decode()
    assert _names(html) == {"Anna Schmidt", "Joanna"}
    assert 'value="ANNA"' in html and 'role="search"' in html


@pytest.mark.django_db
def test_the_search_ignores_accents_both_ways(alice_client, alice):
    PersonFactory(owner=alice, name="Zoë Ørsted")
    PersonFactory(owner=alice, name="Zoe")
    PersonFactory(owner=alice, name="Chloé")
    assert _names(alice_client.get(URL, {"q": "zoe"}).content.decode()) == {"Zoë Ørsted", "Zoe"}
    assert _names(alice_client.get(URL, {"q": "chloe"}).content.decode()) == {"Chloé"}
    assert _names(alice_client.get(URL, {"q": "ZOË"}).content.decode()) == {"Zoë Ørsted", "Zoe"}
    assert _names(alice_client.get(URL, {"q": "orsted"}).content.decode()) == {"Zoë Ørsted"}


@pytest.mark.django_db
def test_the_search_never_shows_another_users_people(alice_client, alice, bob):
    PersonFactory(owner=alice, name="Anna")
    PersonFactory(owner=bob, name="Anna of Bob")
    for response in (
        alice_client.get(URL, {"q": "anna"}),
        alice_client.get(URL, {"q": "bob"}, **hx(HTTP_HX_TARGET="people-list")),
    ):
        assert "Anna of Bob" not in response.content.decode()
    assert _names(alice_client.get(URL, {"q": "anna"}).content.decode()) == {"Anna"}


@pytest.mark.django_db
def test_an_empty_search_shows_everyone_as_before(alice_client, alice):
    for name in ("Anna", "Ben", "Zoë"):
        PersonFactory(owner=alice, name=name)
    assert _names(alice_client.get(URL, {"q": "  "}).content.decode()) == {"Anna", "Ben", "Zoë"}
    assert _names(alice_client.get(URL).content.decode()) == {"Anna", "Ben", "Zoë"}


@pytest.mark.django_db
def test_a_search_that_finds_nobody_says_so_not_no_people_yet(alice_client, alice):
    PersonFactory(owner=alice, name="Anna")
    html = alice_client.get(URL, {"q": "xyz"}).content.decode()
    assert _names(html) == set() and "No name contains “xyz”" in html and "No people yet" not in html


@pytest.mark.django_db
def test_the_search_as_you_type_answers_with_the_list_only_keeping_sort_and_query(alice_client, alice):
    PersonFactory(owner=alice, name="Anna", faces=1)
    PersonFactory(owner=alice, name="Annabel", faces=3)
    PersonFactory(owner=alice, name="Ben")
    response = alice_client.get(URL, {"q": "ann", "sort": "name"}, **hx(HTTP_HX_TARGET="people-list"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="people-list"') and "<html" not in html
    assert "Who are they?" not in html and 'id="people-search"' not in html
    assert _names(html) == {"Anna", "Annabel"} and html.index("Anna<") < html.index("Annabel<")
    # The refresh after a correction and the sort links keep the search.
    assert "?sort=name&amp;q=ann" in html and "?sort=count&amp;q=ann" in html
    assert '<input type="hidden" name="sort" value="name" form="people-search">' in html


@pytest.mark.django_db
def test_the_search_field_is_labelled_and_sends_as_you_type(alice_client, alice):
    PersonFactory(owner=alice, name="Anna")
    html = alice_client.get(URL).content.decode()
    assert '<label for="people-q">Find a person</label>' in html
    assert 'id="people-q" type="search" name="q"' in html
    assert 'hx-trigger="input changed delay:200ms"' in html and 'hx-target="#people-list"' in html
    assert 'method="get" action="' + URL + '"' in html


@pytest.mark.django_db
def test_the_search_keeps_the_group_forms_datalist_whole(alice_client, alice):
    make_cast(alice)
    html = alice_client.get(URL, {"q": "anna"}).content.decode()
    assert _names(html) == {"Anna"}
    datalist = html[html.index('<datalist id="person-names">') :]
    assert '<option value="Anna">' in datalist and '<option value="Ben">' in datalist


@pytest.mark.django_db
def test_the_search_does_not_add_queries_to_the_list(alice_client, alice):
    _many(alice, 10)
    plain = count_queries(alice_client, URL, **hx(HTTP_HX_TARGET="people-list"))
    searched = count_queries(alice_client, URL + "?q=person", **hx(HTTP_HX_TARGET="people-list"))
    assert searched == plain
