"""{% group_card %} and {% group_question %} (faces/templatetags/faces_extras.py) draw exactly
what the People page's group card and faces/_group_question.html drew before the tags replaced
them (docs/BENCHMARKS.md, Web)."""

import itertools
import re

import pytest
from django.template import engines
from django.test import RequestFactory

from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory
from smartgallery.tests.world import XSS

# One card of templates/faces/people.html's group-cards loop, and faces/_group_question.html
# (inlined: an include shares the context), as they were at main 0078eda.
OLD_QUESTION = (
    "{% load id_urls %}\n"
    '<{{ tag|default:"p" }} class="group-question-text"{% if title_id %} id="'
    '{{ title_id }}"{% elif id_prefix %} id="{{ id_prefix }}{{ group.id }}"{% endif %}>{% if gr'
    "oup.size == 1 %}Is this face{% else %}Are these {{ group.size }} faces{% endif %} <a href="
    "\"{% id_url 'faces:person' group.question.id %}\">{{ group.question.name }}</a>?</{{ tag|def"
    'ault:"p" }}>\n'
)
OLD_CARD = (
    '{% load faces_extras id_urls %}      <li class="group-card card{% if group.question %} gro'
    'up-card-asks{% endif %}" id="group-{{ group.id }}">\n'
    '        <ul class="face-strip" aria-label="Sample faces">\n'
    "          {% for face in group.samples %}\n"
    "            <li><a href=\"{% id_url 'faces:face' face.id %}\" hx-get=\"{% id_url 'faces:face'"
    ' face.id %}" hx-target="#face-panel" hx-swap="innerHTML" title="Actions for this face">{% '
    'face_thumb face alt="Unknown face" with_photo=True %}</a></li>\n'
    "          {% endfor %}\n"
    "        </ul>\n"
    "        {% if group.question %}\n"
    "          {# The group as a whole looks like someone: asked once, answered in one click. #"
    "}\n"
    '          <div class="group-question">\n'
    "            {% face_thumb group.question.cover_face alt=group.question.name %}\n"
    "            <div>\n"
    "              \n"
    '<{{ tag|default:"p" }} class="group-question-text"{% if title_id %} id="{{ title_id }}"{% '
    'elif id_prefix %} id="{{ id_prefix }}{{ group.id }}"{% endif %}>{% if group.size == 1 %}Is'
    " this face{% else %}Are these {{ group.size }} faces{% endif %} <a href=\"{% id_url 'faces:"
    'person\' group.question.id %}">{{ group.question.name }}</a>?</{{ tag|default:"p" }}>\n'
    "\n"
    '              <div class="actions">\n'
    '                {% include "faces/_group_action.html" with url_name="faces:group_question_'
    'confirm" label="Yes" css="button-small button-primary" aria="Yes, these are "|add:group.qu'
    "estion.name position=None %}\n"
    '                {% include "faces/_group_action.html" with url_name="faces:group_question_'
    'reject" label="No" css="button-small" aria="No, not "|add:group.question.name position=Non'
    "e %}\n"
    "              </div>\n"
    "            </div>\n"
    "          </div>\n"
    "        {% else %}\n"
    '          <p class="muted">{{ group.size }} face{{ group.size|pluralize }}</p>\n'
    "        {% endif %}\n"
    '        <form method="post" action="{% id_url \'faces:group_name\' group.id %}" hx-post="{% '
    'id_url \'faces:group_name\' group.id %}" hx-swap="none" hx-disabled-elt="find button" class='
    '"name-form">\n'
    "          {% csrf_token %}\n"
    '          <input type="hidden" name="all" value="1">\n'
    '          <label for="group-name-{{ group.id }}">{% if group.question %}Someone else? Thei'
    "r name{% else %}Who is this?{% endif %}</label>\n"
    '          <div class="input-row">\n'
    '            <input id="group-name-{{ group.id }}" type="text" name="name" list="person-nam'
    'es" maxlength="200" autocomplete="off" required>\n'
    "            {# Under a question the main answer is its Yes: naming someone else is the sec"
    "ond choice. #}\n"
    '            <button type="submit"{% if not group.question %} class="button-primary"{% endi'
    "f %}>Name {% if group.size > 1 %}all {{ group.size }}{% else %}it{% endif %}</button>\n"
    "          </div>\n"
    "        </form>\n"
    '        <div class="actions">\n'
    '          <a class="button button-small" href="{% id_url \'faces:group\' group.id %}">{% if '
    "group.size > group.samples|length %}See all {{ group.size }} faces{% else %}Pick or take o"
    "ut faces{% endif %}</a>\n"
    '          <form method="post" action="{% id_url \'faces:group_dismiss\' group.id %}" hx-post'
    '="{% id_url \'faces:group_dismiss\' group.id %}" hx-swap="none" class="inline-form">\n'
    "            {% csrf_token %}\n"
    '            <button type="submit" class="button-small">Dismiss</button>\n'
    "          </form>\n"
    "        </div>\n"
    "      </li>\n"
)
NEW_CARD = "{% load faces_extras %}      {% group_card group %}\n"


def render(template: str, owner, **context) -> str:
    request = RequestFactory().get("/people/")
    request.user = owner
    html = engines["django"].from_string(template).render(context, request=request)
    # Each render masks the CSRF token anew.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="X"', html)


def group_with(owner, *, size: int, samples: int, crops: bool, question):
    group = FaceGroupFactory(owner=owner, faces=0)
    group.samples = [FaceFactory(owner=owner, group=group, crop=crops, photo__stored=True) for _ in range(samples)]
    group.size, group.question = size, question
    return group


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "samples", "crops", "asks"),
    list(itertools.product([1, 2, 7], [1, 2], [True, False], ["", "Anna", XSS])),
)
def test_the_card_draws_what_the_template_drew(alice, size, samples, crops, asks):
    question = None
    if asks:
        question = PersonFactory(owner=alice, name=asks, faces=1 if crops else 0, faces__crop=True)
    group = group_with(alice, size=size, samples=min(samples, size), crops=crops, question=question)

    assert render(NEW_CARD, alice, group=group) == render(OLD_CARD, alice, group=group)
    assert XSS not in render(NEW_CARD, alice, group=group)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 6])
@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"tag": "h2"},
        {"tag": "h2", "title_id": "review-question"},
        {"id_prefix": "review-group-title-"},
        {"title_id": '"><b>', "id_prefix": "x-"},
    ],
)
def test_the_question_draws_what_the_template_drew(alice, size, arguments):
    anna = PersonFactory(owner=alice, name=XSS, faces=0)
    group = group_with(alice, size=size, samples=0, crops=False, question=anna)
    new = "{% include 'faces/_group_question.html' %}"

    assert render(new, alice, group=group, **arguments) == render(OLD_QUESTION, alice, group=group, **arguments)
