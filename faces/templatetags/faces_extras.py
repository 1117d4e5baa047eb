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
