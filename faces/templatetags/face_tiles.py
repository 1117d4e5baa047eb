"""The tiles of faces asked about on the person page and in the review grid, each loop one tag:
`{% suggestion_tiles %}` (a person's suggestions), `{% review_tiles %}` (a person's section of
the review grid), `{% person_photo_tiles %}` (the person's photos), `{% strip_faces %}` (a
group's sample faces), `{% unnamed_tiles %}` (Unnamed faces) and `{% group_pick_tiles %}` (a
group's page).

Tags rather than template loops: a tile is some 15 template nodes, and the pages draw 60-90 of
them, so the loops were most of the person page's and the review grid's time; here what every
tile of a loop shares (names, labels, next) is resolved once and each tile is one f-string
(docs/BENCHMARKS.md, Web). The markup is the one the templates had: the pick checkbox that
belongs to the page's bulk form (static/js/select.js: input[data-pick]), the face that opens
the face dialog (#face-panel), the answer forms (face_actions), and the ids each answer's
redraw targets (person-suggestion-N, review-face-N, person-tile-N).
"""

from __future__ import annotations

from urllib.parse import quote

from django import template
from django.utils.safestring import SafeString, mark_safe  # unsafe-ok: _safe below, for escaped tiles

from faces.templatetags.face_actions import face_action
from faces.templatetags.faces_extras import face_thumb, render_dates
from gallery.templatetags.id_urls import id_url_in
from smartgallery.markup import esc

register = template.Library()


def _face_link(face_url: str, thumb: str, extra: str = "", href: str = "") -> str:
    return (
        f'<a href="{href or face_url}" hx-get="{face_url}" hx-target="#face-panel" hx-swap="innerHTML"{extra}>'
        f"{thumb}</a>"
    )


def _yes_no(context, face, person, next: str) -> str:
    """The tile's answers to "Is this <person>?": Yes and No, each its own form."""
    return (
        '<div class="tile-actions">'
        + face_action(
            context,
            "faces:face_confirm",
            face.id,
            "Yes",
            css="button-small button-primary",
            aria=f"Yes, {person.name}",
            next=next,
        )
        + face_action(
            context,
            "faces:face_reject",
            face.id,
            "No",
            person_id=person.id,
            css="button-small",
            aria=f"No, not {person.name}",
            next=next,
        )
        + "</div>"
    )


def _safe(html: str) -> SafeString:
    # unsafe-ok: every value in the tiles went through esc, face_thumb or face_action.
    return mark_safe(html)  # noqa: S308


@register.simple_tag(takes_context=True)
def suggestion_tiles(context, faces, person, next: str) -> SafeString:
    """A person's suggestions ("Is this Anna?"): each picked for the bar at the bottom
    (#person-bulk), opened in the face dialog, or answered Yes / No on its own (back to `next`
    without JavaScript; the face dialog comes back there too)."""
    # As the urlencode filter: the query value of the link without JavaScript.
    next_param = esc(quote(next, safe="/"))
    tiles = []
    for n, face in enumerate(faces, start=1):
        face_url = id_url_in(context, "faces:face", face.id)
        thumb = face_thumb(face, alt="Unknown face", with_photo=True, context=context)
        tiles.append(
            f'<li class="tile" id="person-suggestion-{face.id}">'
            f'<input type="checkbox" class="tile-pick" name="suggestion" value="{face.id}" form="person-bulk"'
            f' data-pick aria-label="Select suggestion {n}">'
            + _face_link(face_url, thumb, ' title="More choices for this face"', f"{face_url}?next={next_param}")
            + _yes_no(context, face, person, next)
            + "</li>"
        )
    return _safe("".join(tiles))


@register.simple_tag(takes_context=True)
def review_tiles(context, faces, person, next: str) -> SafeString:
    """A person's section of the review grid: each suggestion picked for the bar at the bottom
    (#review-bulk, which also gets the question each tile asks: "face id:person id"), opened
    in the face dialog, or answered Yes / No on its own."""
    name = esc(person.name)
    tiles = []
    for n, face in enumerate(faces, start=1):
        face_url = id_url_in(context, "faces:face", face.id)
        thumb = face_thumb(face, alt="Unknown face", with_photo=True, context=context)
        tiles.append(
            f'<li class="tile" id="review-face-{face.id}">'
            f'<input type="checkbox" class="tile-pick" name="face" value="{face.id}" form="review-bulk"'
            f' data-pick aria-label="Select face {n} of {name}">'
            f'<input type="hidden" name="asked" value="{face.id}:{person.id}" form="review-bulk">'
            + _face_link(face_url, thumb)
            + _yes_no(context, face, person, next)
            + "</li>"
        )
    return _safe("".join(tiles))


@register.simple_tag(takes_context=True)
def person_photo_tiles(context, tiles, person, next: str) -> SafeString:
    """The person's photos (photo, their face in it): the face picked for the bar at the bottom
    (#person-bulk), the photo opened, More… (the face dialog), or "Not Anna" on its own."""
    not_label = f"Not {person.name}"
    dates = render_dates(context)  # as the date filter "j M Y": "3 Dec 2026" in the current time zone
    out = []
    for photo, face in tiles:
        if face is None:
            out.append('<li class="tile"></li>')
            continue
        photo_date = dates.day(photo.taken_at) if photo.taken_at else ""
        day = esc(photo_date)
        face_url = id_url_in(context, "faces:face", face.id)
        photo_url = id_url_in(context, "gallery:photo", photo.id)
        thumb = face_thumb(face, alt=person.name, context=context)
        out.append(
            f'<li class="tile" id="person-tile-{face.id}">'
            f'<input type="checkbox" class="tile-pick" name="face" value="{face.id}" form="person-bulk"'
            f' data-pick aria-label="Select the face in the photo of {day}">'
            f'<a href="{photo_url}" title="{day}">{thumb}</a>'
            '<div class="tile-actions">'
            f'<a class="button button-small" href="{face_url}" hx-get="{face_url}" hx-target="#face-panel"'
            ' hx-swap="innerHTML">More…</a>'
            + face_action(
                context,
                "faces:face_reject",
                face.id,
                not_label,
                person_id=person.id,
                css="button-small",
                aria=f"{not_label} (photo of {photo_date})",
                next=next,
            )
            + "</div></li>"
        )
    return _safe("".join(out))


@register.simple_tag(takes_context=True)
def strip_faces(context, faces, title: str = "") -> SafeString:
    """The items of a strip of faces (a group's samples: <ul class="face-strip">): each face,
    its whole photo on hover (photo context), opened in the face dialog; `title`: the link's."""
    title_attr = f' title="{esc(title)}"' if title else ""
    items = []
    for face in faces:
        thumb = face_thumb(face, alt="Unknown face", with_photo=True, context=context)
        face_url = id_url_in(context, "faces:face", face.id)
        items.append(f"<li>{_face_link(face_url, thumb, title_attr)}</li>")
    return _safe("".join(items))


@register.simple_tag(takes_context=True)
def unnamed_tiles(context, faces, next: str) -> SafeString:
    """Unnamed faces: each opened in the face dialog ("Who is this?", back to `next` without
    JavaScript), and a link to its photo. The tile's id is what a named face's out-of-band
    removal targets (faces.views._face_done)."""
    next_param = esc(quote(next, safe="/"))  # as the urlencode filter
    dates = render_dates(context)
    tiles = []
    for face in faces:
        face_url = f"{id_url_in(context, 'faces:face', face.id)}?next={next_param}"
        thumb = face_thumb(face, alt="Unknown face", with_photo=True, context=context)
        photo_url = id_url_in(context, "gallery:photo", face.photo_id)
        day = esc(dates.day(face.photo.taken_at))
        tiles.append(
            f'<li class="tile" id="unnamed-face-{face.id}">'
            + _face_link(face_url, thumb, ' tabindex="-1"')
            + '<div class="tile-actions">'
            f'<a class="button button-small" href="{face_url}" hx-get="{face_url}" hx-target="#face-panel"'
            ' hx-swap="innerHTML">Who is this?</a>'
            f'<a class="tile-caption" href="{photo_url}" aria-label="See the photo ({day})">See the photo</a>'
            "</div></li>"
        )
    return _safe("".join(tiles))


@register.simple_tag(takes_context=True)
def group_pick_tiles(context, faces, offset: int = 0) -> SafeString:
    """A group's faces on its page, each a checkbox of the page's naming form (the face its
    label, numbered from `offset` + 1 for a screen reader), its whole photo on hover."""
    tiles = []
    for n, face in enumerate(faces, start=offset + 1):
        thumb = face_thumb(face, alt="Unknown face", with_photo=True, context=context)
        tiles.append(
            f'<li><input type="checkbox" id="pick-{face.id}" name="face" value="{face.id}" data-pick>'
            f'<label for="pick-{face.id}">{thumb}<span class="visually-hidden">Face {n}</span></label></li>'
        )
    return _safe("".join(tiles))
