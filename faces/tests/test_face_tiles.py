"""The tile tags (faces/templatetags/face_tiles.py) draw exactly what the template loops they
replaced drew on the person page and in the review grid (each answer form as the included
faces/_face_action.html wrote it), names and links escaped alike."""

import re

import pytest
from django.template import engines

from faces import selectors
from faces.models import Face
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory
from smartgallery.tests.world import XSS


def _form(url_name: str, label: str, aria: str, css: str, person: bool = False) -> str:
    """faces/_face_action.html as it was (main at f6e679d), its arguments in place."""
    return (
        f"{{% id_url '{url_name}' face.id as action_url %}}"
        '<form method="post" action="{{ action_url }}" hx-post="{{ action_url }}" hx-disabled-elt="find button"'
        ' class="inline-form">{% csrf_token %}'
        + ('<input type="hidden" name="person" value="{{ person.id }}">' if person else "")
        + '<input type="hidden" name="next" value="{{ next }}">'
        f'<button type="submit" class="{css}" aria-label="{{{{ {aria} }}}}">{{{{ {label} }}}}</button></form>'
    )


# The loops of faces/person.html and faces/review.html as they were (main at f6e679d).
OLD_SUGGESTIONS = (
    "{% load id_urls faces_extras %}{% for face in faces %}"
    '<li class="tile" id="person-suggestion-{{ face.id }}"><input type="checkbox" class="tile-pick" name="suggestion"'
    ' value="{{ face.id }}" form="person-bulk" data-pick aria-label="Select suggestion {{ forloop.counter }}">'
    "<a href=\"{% id_url 'faces:face' face.id %}?next={{ next|urlencode }}\""
    " hx-get=\"{% id_url 'faces:face' face.id %}\""
    ' hx-target="#face-panel" hx-swap="innerHTML" title="More choices for this face">'
    '{% face_thumb face alt="Unknown face" with_photo=True %}</a><div class="tile-actions">'
    + _form("faces:face_confirm", '"Yes"', '"Yes, "|add:person.name', "button-small button-primary")
    + _form("faces:face_reject", '"No"', '"No, not "|add:person.name', "button-small", person=True)
    + "</div></li>{% endfor %}"
)
OLD_REVIEW = (
    "{% load id_urls faces_extras %}{% for face in faces %}"
    '<li class="tile" id="review-face-{{ face.id }}"><input type="checkbox" class="tile-pick" name="face"'
    ' value="{{ face.id }}" form="review-bulk" data-pick aria-label="Select face {{ forloop.counter }} of'
    ' {{ person.name }}"><input type="hidden" name="asked" value="{{ face.id }}:{{ person.id }}" form="review-bulk">'
    "<a href=\"{% id_url 'faces:face' face.id %}\" hx-get=\"{% id_url 'faces:face' face.id %}\""
    ' hx-target="#face-panel" hx-swap="innerHTML">{% face_thumb face alt="Unknown face" with_photo=True %}</a>'
    '<div class="tile-actions">'
    + _form("faces:face_confirm", '"Yes"', '"Yes, "|add:person.name', "button-small button-primary")
    + _form("faces:face_reject", '"No"', '"No, not "|add:person.name', "button-small", person=True)
    + "</div></li>{% endfor %}"
)
OLD_PHOTOS = (
    "{% load id_urls faces_extras %}{% for photo, face in tiles %}"
    '<li class="tile"{% if face %} id="person-tile-{{ face.id }}"{% endif %}>{% if face %}'
    '<input type="checkbox" class="tile-pick" name="face" value="{{ face.id }}" form="person-bulk" data-pick'
    " aria-label=\"Select the face in the photo of {{ photo.taken_at|date:'j M Y' }}\">"
    "<a href=\"{% id_url 'gallery:photo' photo.id %}\" title=\"{{ photo.taken_at|date:'j M Y' }}\">"
    '{% face_thumb face alt=person.name %}</a><div class="tile-actions">'
    '<a class="button button-small" href="{% id_url \'faces:face\' face.id %}"'
    ' hx-get="{% id_url \'faces:face\' face.id %}" hx-target="#face-panel" hx-swap="innerHTML">More…</a>'
    '{% with photo_date=photo.taken_at|date:"j M Y" %}'
    + _form(
        "faces:face_reject",
        '"Not "|add:person.name',
        '"Not "|add:person.name|add:" (photo of "|add:photo_date|add:")"',
        "button-small",
        person=True,
    )
    + "{% endwith %}</div>{% endif %}</li>{% endfor %}"
)


def render(source: str, **context) -> str:
    html = engines["django"].from_string(source).render({"csrf_token": "t0ken", **context})
    return re.sub(r">\s+<", "><", html).strip()


@pytest.fixture
def evil(alice):
    person = PersonFactory(owner=alice, name=XSS, faces=3, faces__crop=True)
    FaceFactory(owner=alice, person=person, state=Face.State.SUGGESTED, similarity=0.5, crop=True)
    FaceFactory(owner=alice, person=person, state=Face.State.SUGGESTED, similarity=0.4)  # no crop yet
    return person


NEXT = "/people/1/?mode=grid&x=<a b>"


@pytest.mark.django_db
def test_suggestion_tiles_are_the_old_loop(alice, evil):
    faces = selectors.person_suggestions(user=alice, person_id=evil.id).faces
    assert len(faces) == 2
    context = {"faces": faces, "person": evil, "next": NEXT}
    new = render("{% load face_tiles %}{% suggestion_tiles faces person next %}", **context)
    assert new == render(OLD_SUGGESTIONS, **context)
    assert XSS not in new


@pytest.mark.django_db
def test_review_tiles_are_the_old_loop(alice, evil):
    (item,) = selectors.review_queue(user=alice)
    context = {"faces": item.faces, "person": item.person, "next": NEXT}
    new = render("{% load face_tiles %}{% review_tiles faces person next %}", **context)
    assert new == render(OLD_REVIEW, **context)
    assert new.count('class="tile"') == 2 and XSS not in new


@pytest.mark.django_db
def test_photo_tiles_are_the_old_loop(alice, evil):
    tiles = selectors.person_photos(user=alice, person_id=evil.id).tiles
    tiles.append((PhotoFactory(owner=alice), None))  # a photo whose face left meanwhile
    context = {"tiles": tiles, "person": evil, "next": NEXT}
    new = render("{% load face_tiles %}{% person_photo_tiles tiles person next %}", **context)
    assert new == render(OLD_PHOTOS, **context)
    assert new.count('class="tile"') == 4 and XSS not in new


# faces/_person_datalist.html as it was (main at f6e679d), before it called {% person_datalist %}.
OLD_DATALIST = (
    "<datalist id=\"{{ datalist_id|default:'person-names' }}\">{% for pid, name in person_names %}"
    '<option value="{{ name }}"></option>{% endfor %}</datalist>'
)


@pytest.mark.parametrize("datalist_id", [None, "panel-person-names"])
def test_the_datalist_is_the_old_loop(datalist_id):
    context = {"person_names": [(1, "Anna"), (2, XSS), (3, "Ørsted & Co")]}
    if datalist_id:
        context["datalist_id"] = datalist_id
    new = render('{% include "faces/_person_datalist.html" %}', **context)
    assert new == render(OLD_DATALIST, **context) and XSS not in new
    assert (
        render('{% include "faces/_person_datalist.html" %}', person_names=[])
        == '<datalist id="person-names"></datalist>'
    )


# A group's sample faces in faces/review.html as they were (main at f6e679d).
OLD_STRIP = (
    "{% load id_urls faces_extras %}{% for face in faces %}"
    "<li><a href=\"{% id_url 'faces:face' face.id %}\" hx-get=\"{% id_url 'faces:face' face.id %}\""
    ' hx-target="#face-panel" hx-swap="innerHTML">{% face_thumb face alt="Unknown face" with_photo=True %}</a></li>'
    "{% endfor %}"
)


@pytest.mark.django_db
def test_strip_faces_are_the_old_loop(alice):
    group = FaceGroupFactory(owner=alice, faces=3, faces__crop=True)
    FaceFactory(owner=alice, group=group)  # no crop yet
    (group,) = selectors.group_list_with_samples(user=alice, limit=1, samples=8)
    assert len(group.samples) == 4
    new = render("{% load face_tiles %}{% strip_faces faces %}", faces=group.samples)
    assert new == render(OLD_STRIP, faces=group.samples)


# The loops of faces/unnamed.html and faces/group.html as they were (main at 98797b6).
OLD_UNNAMED = (
    "{% load id_urls faces_extras %}{% for face in faces %}"
    '<li class="tile" id="unnamed-face-{{ face.id }}">{% id_url \'faces:face\' face.id as face_url %}'
    '<a href="{{ face_url }}?next={{ next|urlencode }}" hx-get="{{ face_url }}?next={{ next|urlencode }}"'
    ' hx-target="#face-panel" hx-swap="innerHTML" tabindex="-1">'
    '{% face_thumb face alt="Unknown face" with_photo=True %}</a><div class="tile-actions">'
    '<a class="button button-small" href="{{ face_url }}?next={{ next|urlencode }}"'
    ' hx-get="{{ face_url }}?next={{ next|urlencode }}" hx-target="#face-panel" hx-swap="innerHTML">Who is this?</a>'
    '<a class="tile-caption" href="{% id_url \'gallery:photo\' face.photo_id %}"'
    " aria-label=\"See the photo ({{ face.photo.taken_at|date:'j M Y' }})\">See the photo</a>"
    "</div></li>{% endfor %}"
)
OLD_GROUP_PICKS = (
    "{% load faces_extras %}{% for face in faces %}"
    '<li><input type="checkbox" id="pick-{{ face.id }}" name="face" value="{{ face.id }}" data-pick>'
    '<label for="pick-{{ face.id }}">{% face_thumb face alt="Unknown face" with_photo=True %}'
    '<span class="visually-hidden">Face {{ forloop.counter|add:page_offset }}</span></label></li>{% endfor %}'
)


@pytest.fixture
def unknown_faces(alice):
    photo = PhotoFactory(owner=alice, original_filename=XSS, stored=True)
    group = FaceGroupFactory(owner=alice)
    made = [FaceFactory(owner=alice, photo=photo, crop=True, group=group) for _ in range(2)]
    made.append(FaceFactory(owner=alice, group=group))  # no crop yet: the placeholder
    return group, made


@pytest.mark.django_db
def test_unnamed_tiles_are_the_old_loop(alice, unknown_faces):
    _, made = unknown_faces
    faces = list(Face.objects.filter(pk__in=[f.pk for f in made]).select_related("photo").order_by("id"))
    context = {"faces": faces, "next": NEXT}
    new = render("{% load face_tiles %}{% unnamed_tiles faces next=next %}", **context)
    assert new == render(OLD_UNNAMED, **context)
    assert new.count('class="tile"') == 3 and XSS not in new and "<a b>" not in new


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [0, 120])
def test_group_pick_tiles_are_the_old_loop(alice, unknown_faces, offset):
    group, _ = unknown_faces
    faces = selectors.group_faces_page(user=alice, group_id=group.id).faces
    context = {"faces": faces, "page_offset": offset}
    new = render("{% load face_tiles %}{% group_pick_tiles faces offset=page_offset %}", **context)
    assert new == render(OLD_GROUP_PICKS, **context)
    assert f"Face {offset + 3}<" in new
