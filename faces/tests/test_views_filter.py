import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from faces.models import Face
from faces.tests.viewdata import XSS, XSS_ESCAPED, hx
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
