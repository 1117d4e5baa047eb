"""Template helpers of the people pages."""

from django import template
from django.template.loader import render_to_string
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe  # unsafe-ok: for the tags' markup, each value escaped
from django.utils.timezone import get_current_timezone, localtime

from faces.responses import UNDO_PENDING_KEY, UNDO_SESSION_KEY
from faces.templatetags.face_actions import group_action
from gallery.selectors import face_box_percent
from gallery.templatetags.id_urls import id_url, id_url_in
from smartgallery.markup import csrf_input, esc

register = template.Library()


@register.simple_tag(takes_context=True)
def faces_undo_toast(context) -> str:
    """The Undo button of the last change made by a plain (non-htmx) form, shown once on the
    page the form redirected to, next to its message."""
    request = context.get("request")
    if request is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return ""
    token = request.session.pop(UNDO_PENDING_KEY, None)
    if not token or token not in request.session.get(UNDO_SESSION_KEY, {}):
        return ""
    return render_to_string("faces/_undo_toast.html", {"undo_token": token}, request=request)


# The key of a render's _Dates in its render_context.
_RENDER_DATES = object()


class _Dates:
    """date_format(localtime(value), "j M Y") for the tiles of one render, with the current
    time zone and the month names (both the request's, the same for the whole render) looked
    up once, not on each of the page's 70-130 tiles, where they were most of the time."""

    def __init__(self):
        self.zone = get_current_timezone()
        self.months = {}

    def day(self, value) -> str:
        local = localtime(value, self.zone)
        month = self.months.get(local.month)
        if month is None:
            month = self.months[local.month] = MONTHS_3[local.month].title()  # as "M" writes it
        return f"{local.day} {month} {local.year:04d}"


def render_dates(context) -> _Dates:
    dates = context.render_context.get(_RENDER_DATES)
    if dates is None:
        dates = context.render_context[_RENDER_DATES] = _Dates()
    return dates


def photo_context(face, *, context=None) -> str:
    """The data-* attributes with which static/js/context.js shows the whole photo of a face
    crop, the face outlined: the preview's URL (the owner's media route, fetched only when
    shown), the face's box in percent and the photo's size (its shape, known before the preview
    arrives). `face.photo` comes with the page's own query (select_related): no query here.
    `context`: the template context drawn in, if any (what a render shares is found once)."""
    photo = face.photo
    if not photo.preview or not photo.width or not photo.height:
        return ""
    left, top, width, height = face_box_percent(face, photo)
    url = esc(_url(context, "gallery:preview", photo.id))
    day = (render_dates(context) if context is not None else _Dates()).day(photo.taken_at)
    # unsafe-ok: every value is escaped or a number.
    return mark_safe(  # noqa: S308
        f' data-photo-context="{url}"'
        f' data-face-box="{left} {top} {width} {height}" data-photo-size="{photo.width} {photo.height}"'
        f' data-photo-date="{esc(day)}" draggable="false"'
    )


def face_thumb(face, alt: str = "", big: bool = False, with_photo: bool = False, *, context=None, src: str = "") -> str:
    """A face's square crop, or a placeholder while the worker has not made one (or `face` is
    None: a person without a cover). `alt`: the person's name, "Unknown face" when empty.
    `with_photo`: the face is shown for a decision, and its whole photo can be seen (on hover, a
    long press, or V: static/js/context.js); the page must have loaded face.photo.

    A tag rather than an included template: the same markup about five times cheaper, and the
    People page draws some 130 of them (docs/BENCHMARKS.md, Web). `context`: as photo_context.
    `src`: the crop's URL where it is not the owner's route (a shared library's People page)."""
    label = esc(alt or "Unknown face")
    big_class = " face-thumb-big" if big else ""
    data = photo_context(face, context=context) if with_photo and face is not None else ""
    if face is not None and face.crop:
        size = 240 if big else 112
        src = esc(src or _url(context, "gallery:face_crop", face.id))
        # unsafe-ok: every value is escaped, a number or one of the words above (`data` escaped its own).
        return mark_safe(  # noqa: S308
            f'<img class="face-thumb{big_class}" src="{src}" alt="{label}" width="{size}" height="{size}"'
            f' loading="lazy"{data}>'
        )
    # unsafe-ok: the label is escaped, the class one of the words above, `data` escaped its own.
    return mark_safe(  # noqa: S308
        f'<span class="face-thumb face-placeholder{big_class}" role="img" aria-label="{label}"{data}>'
        '<span aria-hidden="true">?</span></span>'
    )


def _url(context, name: str, pk: int) -> str:
    return id_url_in(context, name, pk) if context is not None else id_url(name, pk)


@register.simple_tag(takes_context=True, name="photo_context")
def photo_context_tag(context, face) -> str:
    return photo_context(face, context=context)


@register.simple_tag(takes_context=True, name="face_thumb")
def face_thumb_tag(context, face, alt: str = "", big: bool = False, with_photo: bool = False) -> str:
    return face_thumb(face, alt, big, with_photo, context=context)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"  # |pluralize


@register.simple_tag(takes_context=True)
def person_card(context, person, review_url: str) -> str:
    """One person of the People page's list: the cover and name linking to the person's page,
    the counts, "N to review" (to `review_url`) and whether they are hidden. `person` carries
    face_count, photo_count and suggested_count (selectors.people_lists).

    A tag rather than a partial for the same reason as face_thumb: 60 cards a page, each a
    dozen template nodes, were a fifth of the page's time (docs/BENCHMARKS.md, Web)."""
    faces, photos, suggested = person.face_count, person.photo_count, person.suggested_count
    review = f'<a class="badge badge-warn" href="{esc(review_url)}">{suggested} to review</a>' if suggested else ""
    hidden = '<span class="badge">Hidden</span>' if person.hidden else ""
    # unsafe-ok: every value is escaped, a number, or markup written here or by face_thumb.
    return mark_safe(  # noqa: S308
        '<li class="person-card">\n'
        f'  <a class="person-card-link" href="{esc(_url(context, "faces:person", person.id))}">\n'
        f"    {face_thumb(person.cover_face, alt=person.name, context=context)}\n"
        f'    <span class="person-name">{esc(person.name)}</span>\n'
        "  </a>\n"
        f'  <span class="muted person-counts">{faces} face{_plural(faces)} · {photos} photo{_plural(photos)}</span>\n'
        f"  {review}\n"
        f"  {hidden}\n"
        "</li>"
    )


@register.simple_tag(takes_context=True)
def group_question(context, group, tag: str = "", title_id: str = "", id_prefix: str = "") -> str:
    """ "Are these 6 faces Anna?" (or "Is this face Anna?" for a group of one): `group` with
    .size and .question; `tag`: the element (p unless given) and its id: `title_id`, or
    `id_prefix` followed by the group id. faces/_group_question.html calls this tag."""
    element = esc(tag or "p")
    if title_id:
        element_id = f' id="{esc(title_id)}"'
    elif id_prefix:
        element_id = f' id="{esc(id_prefix)}{group.id}"'
    else:
        element_id = ""
    asks = "Is this face" if group.size == 1 else f"Are these {group.size} faces"
    person = group.question
    url = esc(_url(context, "faces:person", person.id))
    # unsafe-ok: every value is escaped or a number.
    return mark_safe(  # noqa: S308
        f'<{element} class="group-question-text"{element_id}>{asks} <a href="{url}">{esc(person.name)}</a>?</{element}>'
    )


@register.simple_tag(takes_context=True)
def group_card(context, group) -> str:
    """One unnamed group of the People page: its sample faces (each opens the face dialog, its
    whole photo on hover), the question it asks with Yes and No (or its size), the form that
    names it all, and the links to see all its faces and to dismiss it. `group` from
    selectors.group_list_with_samples (.size, .samples, .question).

    A tag rather than the template it was for the same reason as person_card: 12 cards of some
    60 template nodes each (docs/BENCHMARKS.md, Web)."""
    gid, size, question = group.id, group.size, group.question
    samples = "".join(
        f'\n            <li><a href="{furl}" hx-get="{furl}" hx-target="#face-panel" hx-swap="innerHTML"'
        f' title="Actions for this face">{face_thumb(face, alt="Unknown face", with_photo=True, context=context)}'
        "</a></li>\n          "
        for face in group.samples
        for furl in (esc(_url(context, "faces:face", face.id)),)
    )
    if question:
        # The group as a whole looks like someone: asked once, answered in one click.
        yes = group_action(
            context,
            "faces:group_question_confirm",
            gid,
            "Yes",
            css="button-small button-primary",
            aria=f"Yes, these are {question.name}",
        )
        no = group_action(
            context, "faces:group_question_reject", gid, "No", css="button-small", aria=f"No, not {question.name}"
        )
        about = (
            "\n          \n"
            '          <div class="group-question">\n'
            f"            {face_thumb(question.cover_face, alt=question.name, context=context)}\n"
            "            <div>\n"
            f"              \n{group_question(context, group)}\n\n"
            '              <div class="actions">\n'
            f"                {yes}\n\n"
            f"                {no}\n\n"
            "              </div>\n"
            "            </div>\n"
            "          </div>\n"
            "        "
        )
    else:
        about = f'\n          <p class="muted">{size} face{_plural(size)}</p>\n        '
    csrf = csrf_input(context)  # as {% csrf_token %}, made once a render by face_actions
    name_url = esc(_url(context, "faces:group_name", gid))
    dismiss_url = esc(_url(context, "faces:group_dismiss", gid))
    label = "Someone else? Their name" if question else "Who is this?"
    # Under a question the main answer is its Yes: naming someone else is the second choice.
    primary = "" if question else ' class="button-primary"'
    name_all = f"all {size}" if size > 1 else "it"
    see = f"See all {size} faces" if size > len(group.samples) else "Pick or take out faces"
    # unsafe-ok: every value is escaped, a number, or markup written here or by the tags it calls.
    return mark_safe(  # noqa: S308
        f'<li class="group-card card{" group-card-asks" if question else ""}" id="group-{gid}">\n'
        '        <ul class="face-strip" aria-label="Sample faces">\n'
        f"          {samples}\n"
        "        </ul>\n"
        f"        {about}\n"
        f'        <form method="post" action="{name_url}" hx-post="{name_url}" hx-swap="none"'
        ' hx-disabled-elt="find button" class="name-form">\n'
        f"          {csrf}\n"
        '          <input type="hidden" name="all" value="1">\n'
        f'          <label for="group-name-{gid}">{label}</label>\n'
        '          <div class="input-row">\n'
        f'            <input id="group-name-{gid}" type="text" name="name" list="person-names" maxlength="200"'
        ' autocomplete="off" required>\n'
        "            \n"
        f'            <button type="submit"{primary}>Name {name_all}</button>\n'
        "          </div>\n"
        "        </form>\n"
        '        <div class="actions">\n'
        f'          <a class="button button-small" href="{esc(_url(context, "faces:group", gid))}">{see}</a>\n'
        f'          <form method="post" action="{dismiss_url}" hx-post="{dismiss_url}" hx-swap="none"'
        ' class="inline-form">\n'
        f"            {csrf}\n"
        '            <button type="submit" class="button-small">Dismiss</button>\n'
        "          </form>\n"
        "        </div>\n"
        "      </li>"
    )
