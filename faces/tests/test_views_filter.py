import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from faces.models import Face
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, XSS, XSS_ESCAPED, hx
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory

URL = reverse("faces:photo_filter")


@pytest.fixture
def family(alice):
    """Photos: anna alone (2020), ben alone (2021), both (2022), both but ben only suggested (2023)."""
    anna, ben = PersonFactory(owner=alice, name="Anna", faces=0), PersonFactory(owner=alice, name="Ben", faces=0)

    def photo(year, *faces):
        p = PhotoFactory(owner=alice, taken_at=datetime.datetime(year, 6, 1, 12, tzinfo=datetime.UTC))
        for person, state in faces:
            FaceFactory(owner=alice, photo=p, person=person, state=state)
        return p

    confirmed, suggested = Face.State.CONFIRMED, Face.State.SUGGESTED
    return {
        "anna": anna,
        "ben": ben,
        "anna_only": photo(2020, (anna, confirmed)),
        "ben_only": photo(2021, (ben, Face.State.AUTO)),
        "both": photo(2022, (anna, confirmed), (ben, confirmed)),
        "ben_maybe": photo(2023, (anna, confirmed), (ben, suggested)),
    }


def shown(response, family):
    html = response.content.decode()
    return {
        name
        for name in ("anna_only", "ben_only", "both", "ben_maybe")
        if reverse("gallery:photo", args=[family[name].id]) in html
    }


@pytest.mark.django_db
def test_and_shows_photos_with_all_of_them(alice_client, family):
    response = alice_client.get(URL, {"person": [family["anna"].id, family["ben"].id], "mode": "and"})
    assert response.status_code == 200
    assert shown(response, family) == {"both"}


@pytest.mark.django_db
def test_or_shows_photos_with_any_of_them(alice_client, family):
    response = alice_client.get(URL, {"person": [family["anna"].id, family["ben"].id], "mode": "or"})
    assert shown(response, family) == {"anna_only", "ben_only", "both", "ben_maybe"}


@pytest.mark.django_db
def test_the_date_range_combines_with_the_people(alice_client, family):
    response = alice_client.get(
        URL,
        {
            "person": [family["anna"].id, family["ben"].id],
            "mode": "or",
            "date_from": "2021-01-01",
            "date_to": "2022-12-31",
        },
    )
    assert shown(response, family) == {"ben_only", "both"}


@pytest.mark.django_db
def test_a_reversed_date_range_is_an_error_not_a_crash(alice_client, family):
    response = alice_client.get(
        URL, {"person": [family["anna"].id], "date_from": "2023-01-01", "date_to": "2020-01-01"}
    )
    assert response.status_code == 200 and "The start date is after the end date." in response.content.decode()


@pytest.mark.django_db
def test_the_filter_is_a_shareable_get_url_with_the_choices_kept(alice_client, family):
    html = alice_client.get(URL, {"person": [family["ben"].id], "mode": "or"}).content.decode()
    assert 'method="get"' in html
    ben, anna = family["ben"].id, family["anna"].id
    assert f'<input type="checkbox" name="person" value="{ben}" id="id_person_1" checked>' in html
    assert f'<input type="checkbox" name="person" value="{anna}" id="id_person_0">' in html
    assert '<input type="radio" name="mode" value="or" id="id_mode_1" checked>' in html


@pytest.mark.django_db
def test_without_people_it_asks_to_pick_some(alice_client, family):
    html = alice_client.get(URL).content.decode()
    assert "Pick one or more people" in html and "Anna" in html


@pytest.mark.django_db
def test_results_are_paginated_with_load_more(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    start = timezone.now()
    for i in range(63):
        FaceFactory(
            owner=alice, photo=PhotoFactory(owner=alice, taken_at=start - datetime.timedelta(hours=i)), person=anna
        )
    html = alice_client.get(URL, {"person": anna.id}).content.decode()
    assert html.count('class="photo-tile"') == 60 and "Load more photos" in html
    cursor = html.split("after=")[1].split('"')[0]
    more = alice_client.get(URL, {"person": anna.id, "after": cursor}, **hx()).content.decode()
    assert "<html" not in more and more.count('class="photo-tile"') == 3


@pytest.mark.django_db
def test_a_non_numeric_person_is_a_form_error(alice_client, family):
    assert alice_client.get(URL, {"person": "abc"}).status_code == 200


@pytest.mark.django_db
def test_names_and_filenames_are_escaped(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS, faces=0)
    FaceFactory(owner=alice, photo=PhotoFactory(owner=alice, original_filename=XSS + ".jpg"), person=evil)
    html = alice_client.get(URL, {"person": evil.id}).content.decode()
    assert XSS not in html and XSS_ESCAPED in html


# "Find a person": the list of people to pick from narrows -----------------------------------


def _picks(html: str) -> set[str]:
    return set(re.findall(r'<label for="id_person_\d+">([^<]*)</label>', html))


@pytest.mark.django_db
def test_find_a_person_narrows_the_picks_by_part_of_a_name_ignoring_case_and_accents(alice_client, alice):
    for name in ("Zoë", "Zoe Ball", "Chloé", "Ben"):
        PersonFactory(owner=alice, name=name, faces=0)
    assert _picks(alice_client.get(URL, {"q": "ZOE"}).content.decode()) == {"Zoë", "Zoe Ball"}
    assert _picks(alice_client.get(URL, {"q": "loé"}).content.decode()) == {"Chloé"}
    assert _picks(alice_client.get(URL, {"q": ""}).content.decode()) == {"Zoë", "Zoe Ball", "Chloé", "Ben"}


@pytest.mark.django_db
def test_find_a_person_keeps_the_people_already_picked(alice_client, family):
    html = alice_client.get(URL, {"q": "ann", "person": [family["ben"].id], "mode": "or"}).content.decode()
    assert _picks(html) == {"Anna", "Ben"}
    assert f'value="{family["ben"].id}" id="id_person_1" checked' in html
    assert shown(response_for := alice_client.get(URL, {"q": "zzz", "person": [family["ben"].id]}), family) == {
        "ben_only",
        "both",
    }
    assert _picks(response_for.content.decode()) == {"Ben"}


@pytest.mark.django_db
def test_find_a_person_never_offers_another_users_people(alice_client, family, bob):
    PersonFactory(owner=bob, name="Anna of Bob", faces=0)
    for response in (
        alice_client.get(URL, {"q": "anna"}),
        alice_client.get(URL, {"q": "anna"}, **hx(HTTP_HX_TARGET="person-picks")),
    ):
        assert _picks(response.content.decode()) == {"Anna"}


@pytest.mark.django_db
def test_find_a_person_as_you_type_answers_with_the_picks_only(alice_client, family, django_assert_max_num_queries):
    alice_client.get(URL)  # the first request of a session does more
    with django_assert_max_num_queries(REQUEST_OVERHEAD_QUERIES + 1):
        response = alice_client.get(
            URL, {"q": "be", "person": [family["anna"].id]}, **hx(HTTP_HX_TARGET="person-picks")
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="person-picks"') and "<html" not in html and "photo-tile" not in html
    assert _picks(html) == {"Anna", "Ben"} and f'value="{family["anna"].id}" id="id_person_0" checked' in html


@pytest.mark.django_db
def test_find_a_person_is_a_labelled_field_of_the_get_form(alice_client, family):
    html = alice_client.get(URL, {"q": "an"}).content.decode()
    assert '<label for="filter-q">Find a person</label>' in html
    assert 'id="filter-q" type="search" name="q" value="an"' in html
    assert 'hx-trigger="input changed delay:200ms"' in html and 'hx-target="#person-picks"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("picked", [[], ["anna"], ["anna", "ben"]])
def test_the_person_checkboxes_are_the_tags_django_draws(alice_client, alice, family, picked):
    """The template draws each checkbox itself (PhotoFilterForm.person_picks): the very tags of
    Django's CheckboxSelectMultiple, checked where picked, each with its label."""
    from faces import selectors
    from faces.forms import PhotoFilterForm

    PersonFactory(owner=alice, name=XSS, faces=0)
    ids = [str(family[name].id) for name in picked]
    html = alice_client.get(URL, {"person": ids}).content.decode()
    names = selectors.person_names(user=alice)
    form = PhotoFilterForm({"person": ids} if ids else None, person_choices=[(str(p), n) for p, n in names])
    drawn = re.findall(r'<span class="pick">(<input type="checkbox"[^>]*>)<label for="([^"]*)">([^<]*)</label>', html)
    expected = [(str(o.tag()), o.id_for_label, str(o.choice_label)) for o in form["person"]]
    assert len(drawn) == len(names) == 3
    assert [(tag, for_) for tag, for_, _ in drawn] == [(tag, for_) for tag, for_, _ in expected]
    assert [label for *_, label in drawn] == [XSS_ESCAPED if label == XSS else label for *_, label in expected]
    assert sum(" checked>" in tag for tag, _, _ in drawn) == len(picked)
