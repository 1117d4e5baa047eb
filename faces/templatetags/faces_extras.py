"""Template helpers of the people pages."""

from django import template
from django.template.loader import render_to_string
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from faces.responses import UNDO_PENDING_KEY, UNDO_SESSION_KEY
from gallery.selectors import face_box_percent
from gallery.templatetags.id_urls import id_url

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


@register.simple_tag
def photo_context(face) -> str:
    """The data-* attributes with which static/js/context.js shows the whole photo of a face
    crop, the face outlined: the preview's URL (the owner's media route, fetched only when
    shown), the face's box in percent and the photo's size (its shape, known before the preview
    arrives). `face.photo` comes with the page's own query (select_related): no query here."""
    photo = face.photo
    if not photo.preview or not photo.width or not photo.height:
        return ""
    left, top, width, height = face_box_percent(face, photo)
    return format_html(
        ' data-photo-context="{}" data-face-box="{} {} {} {}" data-photo-size="{} {}"'
        ' data-photo-date="{}" draggable="false"',
        id_url("gallery:preview", photo.id),
        left,
        top,
        width,
        height,
        photo.width,
        photo.height,
        date_format(localtime(photo.taken_at), "j M Y"),
    )


@register.simple_tag
def face_thumb(face, alt: str = "", big: bool = False, with_photo: bool = False) -> str:
    """A face's square crop, or a placeholder while the worker has not made one (or `face` is
    None: a person without a cover). `alt`: the person's name, "Unknown face" when empty.
    `with_photo`: the face is shown for a decision, and its whole photo can be seen (on hover, a
    long press, or V: static/js/context.js); the page must have loaded face.photo.

    A tag rather than an included template: the same markup about five times cheaper, and the
    People page draws some 470 of them (docs/BENCHMARKS.md, Web)."""
    label = alt or "Unknown face"
    big_class = " face-thumb-big" if big else ""
    context = photo_context(face) if with_photo and face is not None else ""
    if face is not None and face.crop:
        size = 240 if big else 112
        return format_html(
            '<img class="face-thumb{}" src="{}" alt="{}" width="{}" height="{}" loading="lazy"{}>',
            big_class,
            id_url("gallery:face_crop", face.id),
            label,
            size,
            size,
            context,
        )
    return format_html(
        '<span class="face-thumb face-placeholder{}" role="img" aria-label="{}"{}>'
        '<span aria-hidden="true">?</span></span>',
        big_class,
        label,
        context,
    )
