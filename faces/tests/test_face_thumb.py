"""{% face_thumb %} (faces/templatetags/faces_extras.py) draws exactly what the included
template faces/_face_thumb.html drew, which it replaced (five times cheaper; docs/BENCHMARKS.md)."""

import itertools

import pytest
from django.template import engines

from smartgallery.tests.factories import FaceFactory, PersonFactory
from smartgallery.tests.world import XSS

# faces/_face_thumb.html as it was before the tag replaced it (main at ff94651).
OLD_TEMPLATE = (
    "{% load faces_extras id_urls %}{# A face's square crop, or a placeholder while the worker has not ma"
    'de one. `alt`: the person\'s name or "Unknown face". `with_photo`: the face is shown for a decision, '
    "and its whole photo can be seen (on hover, a long press, or V: static/js/context.js); the page must "
    'have loaded face.photo. #}\n{% if face.crop %}<img class="face-thumb{% if big %} face-thumb-big{% end'
    'if %}" src="{% id_url \'gallery:face_crop\' face.id %}" alt="{{ alt|default:\'Unknown face\' }}" width="'
    '{% if big %}240{% else %}112{% endif %}" height="{% if big %}240{% else %}112{% endif %}" loading="l'
    'azy"{% if with_photo %}{% photo_context face %}{% endif %}>{% else %}<span class="face-thumb face-pl'
    'aceholder{% if big %} face-thumb-big{% endif %}" role="img" aria-label="{{ alt|default:\'Unknown face'
    '\' }}"{% if with_photo %}{% photo_context face %}{% endif %}><span aria-hidden="true">?</span></span>'
    "{% endif %}\n"
)


def old(face, **arguments) -> str:
    include = engines["django"].from_string(OLD_TEMPLATE)
    return include.render({"face": face, **arguments})


def new(face, **arguments) -> str:
    tag = engines["django"].from_string(
        "{% load faces_extras %}{% face_thumb face alt=alt big=big with_photo=with_photo %}"
    )
    return tag.render({"face": face, "alt": "", "big": False, "with_photo": False, **arguments})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("crop", "alt", "big", "with_photo"),
    list(itertools.product([True, False], ["", "Anna", XSS], [False, True], [False, True])),
)
def test_the_tag_draws_what_the_template_drew(alice, crop, alt, big, with_photo):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    face = FaceFactory(owner=alice, person=anna, crop=crop, photo__stored=True)
    arguments = {"alt": alt, "big": big, "with_photo": with_photo}
    assert new(face, **arguments).strip() == old(face, **arguments).strip()
    assert ("data-photo-context" in new(face, **arguments)) == with_photo


@pytest.mark.django_db
def test_a_person_without_a_cover_gets_the_placeholder(alice):
    assert new(None, alt="Ben").strip() == old(None, alt="Ben").strip()
    assert 'aria-label="Ben"' in new(None, alt="Ben")


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Adak"])
@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_the_photo_date_is_the_local_day_as_date_format_writes_it(alice, zone, language):
    import datetime

    from django.utils import timezone, translation
    from django.utils.dateformat import format as date_format

    # Around midnight UTC on the first and last days of months: the local day, month and year differ.
    moments = [datetime.datetime(2024, 12, 31, 23, 30), datetime.datetime(2025, 3, 1, 0, 15)]
    moments += [datetime.datetime(1999, 5, 17, 12, 0), datetime.datetime(2026, 10, 31, 11, 59)]
    faces = [
        FaceFactory(owner=alice, photo__stored=True, photo__taken_at=m.replace(tzinfo=datetime.UTC)) for m in moments
    ]
    page = engines["django"].from_string(
        "{% load faces_extras %}{% for face in faces %}{% face_thumb face with_photo=True %}|{% endfor %}"
    )
    with timezone.override(zone), translation.override(language):
        html = page.render({"faces": faces})
        expected = [date_format(timezone.localtime(f.photo.taken_at), "j M Y") for f in faces]
    assert [part.split('data-photo-date="')[1].split('"')[0] for part in html.split("|")[:-1]] == expected


@pytest.mark.django_db
def test_each_render_uses_its_own_time_zone(alice):
    import datetime

    from django.utils import timezone

    face = FaceFactory(
        owner=alice, photo__stored=True, photo__taken_at=datetime.datetime(2025, 1, 1, 1, 0, tzinfo=datetime.UTC)
    )
    page = engines["django"].from_string("{% load faces_extras %}{% face_thumb face with_photo=True %}")
    with timezone.override("UTC"):
        assert 'data-photo-date="1 Jan 2025"' in page.render({"face": face})
    with timezone.override("America/New_York"):
        assert 'data-photo-date="31 Dec 2024"' in page.render({"face": face})
