"""`{% id_url "app:name" pk %}`: the URL `{% url "app:name" pk %}` gives, for the routes whose
only argument is an object's id, without a reverse() per call.

A page of cards or tiles called `{% url %}` thousands of times (the People page: 1,400 per
request, a third of its time; docs/BENCHMARKS.md, Web). Here each route is reversed once (per
URLconf and script prefix) with a marker id, and every later call puts the id in its place.
"""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

register = template.Library()

# An id no route sees in practice: 20 digits, and nothing else in a URL is made of them.
_MARKER = 73_519_284_610_295_837_461
_shapes: dict[tuple[str | None, str, str, tuple], tuple[str, str]] = {}


def _shape(name: str, within: tuple = ()) -> tuple[str, str]:
    """The route's URL before and after its id, for the current URLconf and script prefix.
    `within`: the route's arguments before the id, fixed for the whole render (a share's id)."""
    key = (get_urlconf(), get_script_prefix(), name, within)
    shape = _shapes.get(key)
    if shape is None:
        url = reverse(name, args=[*within, _MARKER])
        before, marker, after = url.partition(str(_MARKER))
        if not marker or str(_MARKER) in after:
            raise ValueError(f"{name!r} is not a route with one id argument")
        shape = _shapes[key] = (before, after)
    return shape


def _fill(name: str, shape: tuple[str, str], pk: int | str) -> str:
    # int() both checks the id and gives it the form reverse() would (no leading zeros).
    value = int(pk)
    if value < 0:
        raise NoReverseMatch(f"{name!r} takes a positive id, not {pk!r}")
    return f"{shape[0]}{value}{shape[1]}"


def id_url(name: str, pk: int | str) -> str:
    """reverse(name, args=[pk]) for a route with one integer argument."""
    return _fill(name, _shape(name), pk)


# The key of a render's own shapes in its render_context.
_RENDER_SHAPES = object()


def id_url_in(context, name: str, pk: int | str, *, within: tuple = ()) -> str:
    """id_url() for a tag (or {% id_url %}) drawing in `context`: each route's shape is found
    once a render, not once a call. The URLconf and the script prefix are the request's, the
    same for the whole render, and looking them up (two context-local reads) was most of a
    call's time: the People page makes some 500 of these calls. `within`: as for _shape (the
    pages of a shared library: reverse(name, args=[share_id, pk]))."""
    shapes = context.render_context.get(_RENDER_SHAPES)
    if shapes is None:
        shapes = context.render_context[_RENDER_SHAPES] = {}
    shape = shapes.get((name, within))
    if shape is None:
        shape = shapes[(name, within)] = _shape(name, within)
    return _fill(name, shape, pk)


register.simple_tag(id_url_in, takes_context=True, name="id_url")
