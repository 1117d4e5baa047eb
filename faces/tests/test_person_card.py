"""{% person_card %} (faces/templatetags/faces_extras.py) draws exactly what the People page's
person-card partial drew, which it replaced (docs/BENCHMARKS.md, Web)."""

import itertools

import pytest
from django.template import engines

from smartgallery.tests.factories import FaceFactory, PersonFactory
from smartgallery.tests.world import XSS

# templates/faces/people.html's partial person-card as it was before the tag replaced it (main at 7220ae6).
OLD_TEMPLATE = (
    "{% load faces_extras id_urls %}"
    '<li class="person-card">\n'
    '  <a class="person-card-link" href="{% id_url \'faces:person\' person.id %}">\n'
    "    {% face_thumb person.cover_face alt=person.name %}\n"
    '    <span class="person-name">{{ person.name }}</span>\n'
    "  </a>\n"
    '  <span class="muted person-counts">{{ person.face_count }} face{{ person.face_count|pluralize }} · '
    "{{ person.photo_count }} photo{{ person.photo_count|pluralize }}</span>\n"
    '  {% if person.suggested_count %}<a class="badge badge-warn" href="{{ review_url }}">'
    "{{ person.suggested_count }} to review</a>{% endif %}\n"
    '  {% if person.hidden %}<span class="badge">Hidden</span>{% endif %}\n'
    "</li>"
)
NEW_TEMPLATE = "{% load faces_extras %}{% person_card person review_url %}"


def render(template: str, person, review_url: str) -> str:
    return engines["django"].from_string(template).render({"person": person, "review_url": review_url})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "cover", "counts", "hidden"),
    list(
        itertools.product(
            ["Anna", XSS, "Zoë & <Ben>"],
            ["crop", "placeholder", None],
            [(0, 0, 0), (1, 1, 1), (2, 1, 3), (1234, 987, 0)],
            [False, True],
        )
    ),
)
def test_the_tag_draws_what_the_partial_drew(alice, name, cover, counts, hidden):
    person = PersonFactory(owner=alice, name=name, hidden=hidden, faces=0)
    if cover is not None:
        person.cover_face = FaceFactory(owner=alice, person=person, crop=cover == "crop")
    person.face_count, person.photo_count, person.suggested_count = counts

    for review_url in ["/people/review/", '/x?a=1&b="2"']:
        assert render(NEW_TEMPLATE, person, review_url) == render(OLD_TEMPLATE, person, review_url)
    if name == XSS:
        assert XSS not in render(NEW_TEMPLATE, person, "/people/review/")
