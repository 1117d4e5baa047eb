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
_shapes: dict[tuple[str | None, str, str], tuple[str, str]] = {}


def id_url(name: str, pk: int | str) -> str:
    """reverse(name, args=[pk]) for a route with one integer argument."""
    key = (get_urlconf(), get_script_prefix(), name)
    shape = _shapes.get(key)
    if shape is None:
        url = reverse(name, args=[_MARKER])
        before, marker, after = url.partition(str(_MARKER))
        if not marker or str(_MARKER) in after:
            raise ValueError(f"{name!r} is not a route with one id argument")
        shape = _shapes[key] = (before, after)
    # int() both checks the id and gives it the form reverse() would (no leading zeros).
    value = int(pk)
    if value < 0:
        raise NoReverseMatch(f"{name!r} takes a positive id, not {pk!r}")
    return f"{shape[0]}{value}{shape[1]}"


register.simple_tag(id_url, name="id_url")
