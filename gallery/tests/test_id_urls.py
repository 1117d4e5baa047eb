"""`{% id_url %}` (gallery/templatetags/id_urls.py) gives exactly what `{% url %}` gives for the
routes whose only argument is an id, reversing each route once instead of once per card."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, get_resolver, reverse, set_script_prefix

from gallery.templatetags.id_urls import id_url

ID_ROUTES = sorted(
    f"{namespace}:{name}"
    for namespace in ("faces", "gallery")
    for name, patterns in get_resolver().namespace_dict[namespace][1].reverse_dict.items()
    if isinstance(name, str) and patterns[0][0][1] and len(patterns[0][0][0][1]) == 1
)


def test_every_id_route_of_the_people_and_photo_pages_is_covered():
    assert {"faces:person", "faces:face", "faces:group", "gallery:photo", "gallery:face_crop"} <= set(ID_ROUTES)


@pytest.mark.parametrize("name", ID_ROUTES)
@pytest.mark.parametrize("pk", [1, 42, 9_876_543_210])
def test_it_gives_what_reverse_gives(name, pk):
    assert id_url(name, pk) == reverse(name, args=[pk])
    assert id_url(name, str(pk)) == reverse(name, args=[pk])


def test_it_follows_the_script_prefix():
    try:
        set_script_prefix("/gallery-app/")
        assert id_url("faces:person", 7) == reverse("faces:person", args=[7]) == "/gallery-app/people/7/"
    finally:
        set_script_prefix("/")
    assert id_url("faces:person", 7) == "/people/7/"


def test_a_route_without_an_id_or_a_bad_id_is_an_error():
    with pytest.raises(NoReverseMatch):
        id_url("faces:people", 1)
    with pytest.raises(NoReverseMatch):
        id_url("faces:nope", 1)
    with pytest.raises(NoReverseMatch):
        id_url("faces:person", -3)
    with pytest.raises(ValueError):
        id_url("faces:person", "3/../4")


def test_the_tag_escapes_and_stores_like_url():
    html = Template("{% load id_urls %}{% id_url 'faces:face' face.id as u %}[{{ u }}]{% id_url 'faces:person' 5 %}")
    assert html.render(Context({"face": {"id": 12}})) == "[/people/faces/12/]/people/5/"


def test_the_tag_follows_the_script_prefix_of_each_render():
    html = Template("{% load id_urls %}{% id_url 'faces:person' 7 %} {% id_url 'faces:person' 8 %}")
    assert html.render(Context()) == "/people/7/ /people/8/"
    try:
        set_script_prefix("/gallery-app/")
        assert html.render(Context()) == "/gallery-app/people/7/ /gallery-app/people/8/"
    finally:
        set_script_prefix("/")
