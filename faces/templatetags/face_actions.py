"""`{% face_action %}` and `{% group_action %}`: one answer about one face (or a whole group) as
its own small form. Without JavaScript a plain POST (then back to `next`), with it an htmx POST
into the hx-target and hx-swap that the surrounding region sets once; the view redraws that
region, which it knows by the target's id.

Tags rather than included templates: the person page and the review grid draw 110-130 of these
forms a page, and an include each (a new context, a dozen nodes) was about a third of their time
(docs/BENCHMARKS.md, Web). faces/_face_action.html and faces/_group_action.html call these tags,
so the markup is written here only.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe  # unsafe-ok: for markup whose values went through esc()

from gallery.templatetags.id_urls import id_url_in
from smartgallery.markup import csrf_input, esc

register = template.Library()


def _given(value) -> bool:
    """An optional argument that was passed: not None, and not the "" an include or a tag gets
    for a variable that is not in its context (0 is a position)."""
    return value is not None and value != ""


def _action_form(context, url: str, label, *, hidden: dict, css="", aria="", hook="", key="") -> SafeString:
    url = esc(url)
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{esc(value)}">' for name, value in hidden.items() if _given(value)
    )
    attrs = (
        (f' class="{esc(css)}"' if css else "")
        + (f' aria-label="{esc(aria)}"' if aria else "")
        + (f" data-{esc(hook)}" if hook else "")
    )
    kbd = f" <kbd>{esc(key)}</kbd>" if key else ""
    # unsafe-ok: every value above and below went through esc (or is the csrf input Django wrote).
    return mark_safe(  # noqa: S308
        f'<form method="post" action="{url}" hx-post="{url}" hx-disabled-elt="find button" class="inline-form">'
        f"{csrf_input(context)}{inputs}"
        f'<button type="submit"{attrs}>{esc(label)}{kbd}</button>'
        "</form>"
    )


@register.simple_tag(takes_context=True)
def face_action(
    context, url_name: str, face_id: int, label, *, person_id=None, position=None, next="", **button
) -> SafeString:
    """The form of one answer about a face: `url_name` (a route taking the face's id), the
    button's `label`; optional `person_id` (the person the answer is about), `position` (the
    review card's place in the queue), `next`, and the button's `css` (classes), `aria` (its
    accessible name), `hook` (a data-* attribute the keyboard shortcuts look for) and `key` (the
    shortcut shown on it)."""
    hidden = {"person": person_id or None, "i": position, "next": next or None}
    return _action_form(context, id_url_in(context, url_name, face_id), label, hidden=hidden, **button)


@register.simple_tag(takes_context=True)
def group_action(context, url_name: str, group_id: int, label, *, position=None, next="", **button) -> SafeString:
    """The form of one answer about a whole group: as face_action, for a route taking the
    group's id."""
    hidden = {"i": position, "next": next or None}
    return _action_form(context, id_url_in(context, url_name, group_id), label, hidden=hidden, **button)


@register.simple_tag
def person_datalist(names, datalist_id: str = "") -> SafeString:
    """The <datalist> of the name boxes ("Move to", "These are", "Someone else?"): every
    person's name from `names` ((id, name) pairs, selectors.person_names). A tag, not a loop in
    the template: a library has hundreds of names, and each option was three template nodes."""
    options = "".join(f'<option value="{esc(name)}"></option>' for _, name in names or ())
    # unsafe-ok: each name and the id went through esc.
    return mark_safe(f'<datalist id="{esc(datalist_id or "person-names")}">{options}</datalist>')  # noqa: S308
