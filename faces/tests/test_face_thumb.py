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
