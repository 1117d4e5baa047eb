"""Template helpers of the photo pages."""

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import localtime

from gallery.models import Photo
from gallery.templatetags.id_urls import id_url

register = template.Library()

# The photo just moved to the trash (gallery.views.photo_delete): the page it goes on to offers
# to restore it, once, next to its message.
RESTORE_PENDING_KEY = "gallery_restore_pending"


@register.simple_tag(takes_context=True)
def photo_restore_toast(context) -> str:
    request = context.get("request")
    if request is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return ""
    photo_id = request.session.pop(RESTORE_PENDING_KEY, None)
    if photo_id is None:
        return ""
    photo = Photo.objects.in_trash_for_user(request.user).filter(pk=photo_id).first()
    if photo is None:
        return ""
    return render_to_string("gallery/_restore_toast.html", {"photo": photo}, request=request)


# A small photo is shown larger on a big screen, up to twice its size (a 250 px photo at 250 px
# was hard to see, and its faces hard to point at), never more: beyond that it only blurs.
SMALL_PHOTO_LONG_SIDE = 800
MAX_UPSCALE = 2


@register.filter
def display_size(photo: Photo) -> tuple[int, int]:
    """The photo's width and height attributes on its page; the CSS still fits it into the
    window and the screen's width. `{% with size=photo|display_size %}`."""
    long_side = max(photo.width, photo.height, 1)
    scale = min(MAX_UPSCALE, SMALL_PHOTO_LONG_SIDE / long_side) if long_side < SMALL_PHOTO_LONG_SIDE else 1
    return round(photo.width * scale), round(photo.height * scale)


# The pages the owner's library and a library shared with the viewer have in common: the owner's
# route, and the shared library's (which takes the share's id first).
LIBRARY_ROUTES = {
    "library": ("gallery:timeline", "sharing:library"),
    "photo": ("gallery:photo", "sharing:photo"),
    "thumbnail": ("gallery:thumbnail", "sharing:thumbnail"),
    "photo_filter": ("faces:photo_filter", "sharing:photo_filter"),
}


@register.simple_tag(takes_context=True)
def library_url(context, name: str, *args) -> str:
    """The URL of a page of the library being shown: the owner's own, or, on the pages of a
    library shared with the viewer (`shared_library` in the context), its page under
    /shared/<id>/. The templates both show (the timeline's grid, the photos by people) link
    through this, so a shared page never links to the owner's own routes."""
    own, shared_route = LIBRARY_ROUTES[name]
    shared = context.get("shared_library")
    if shared is not None:
        return reverse(shared_route, args=[shared.id, *args])
    if len(args) == 1:
        return id_url(own, args[0])  # a tile's links: reversed once per route, not per tile
    return reverse(own, args=args)


@register.simple_tag(takes_context=True)
def photo_tile(context, photo: Photo) -> str:
    """One photo of a grid with its date (Photos by people, a person in a shared library),
    linked through library_url. A tag rather than an included template: the same markup about
    four times cheaper (60 tiles a page: 6.5 -> 1.6 ms; docs/BENCHMARKS.md, Web), and the
    thumbnail's URL is the photo's URL + its file name, as on the timeline
    (gallery/tests/test_timeline_urls.py), one reverse per tile."""
    photo_url = library_url(context, "photo", photo.id)
    taken = date_format(localtime(photo.taken_at), "j M Y")
    if not photo.thumbnail:
        image = format_html('<span class="photo-placeholder">{}</span>', photo.original_filename)
    else:
        image = format_html(
            '<img src="{}thumbnail.jpg" alt="{}, {}" loading="lazy">', photo_url, photo.original_filename, taken
        )
    return format_html(
        '<li class="photo-tile">\n  <a href="{}">{}</a>\n  <span class="muted">{}</span>\n</li>',
        photo_url,
        image,
        taken,
    )


@register.simple_tag(takes_context=True)
def timeline_tile(context, photo: Photo) -> str:
    """One tile of the timeline's grid: the photo's thumbnail (srcset with its preview) linked to
    its page, or, while it is not processed, a placeholder saying so that fetches its finished
    tile when the processing panel says photos were processed. A tag rather than a partial:
    the same markup about three times cheaper, 60 times a page (docs/BENCHMARKS.md, Web). One
    reverse per tile: the thumbnail and preview URLs are the photo's URL + a file name
    (gallery/urls.py; gallery/tests/test_timeline_urls.py)."""
    photo_url = library_url(context, "photo", photo.id)
    if photo.thumbnail and photo.preview:
        return format_html(
            '<a class="tile" href="{0}" title="{1}">\n'
            '  <img src="{0}thumbnail.jpg"\n'
            '       srcset="{0}thumbnail.jpg 320w, {0}preview.jpg 1600w"\n'
            '       sizes="(max-width: 40rem) 50vw, 12rem" alt="{1}" loading="lazy" decoding="async">\n'
            "</a>",
            photo_url,
            photo.original_filename,
        )
    pending = photo.status in (Photo.Status.QUEUED, Photo.Status.PROCESSING)
    refresh = (
        format_html(
            'hx-get="{}" hx-trigger="photos-processed from:body" hx-swap="outerHTML"', id_url("gallery:tile", photo.id)
        )
        if pending
        else ""
    )
    state = "Could not process" if photo.status == Photo.Status.FAILED else f"{photo.get_status_display()}…"
    return format_html(
        '<a class="tile tile-placeholder tile-{}" href="{}" title="{}"\n   {}>\n'
        '  <span class="tile-status">{}</span>\n'
        '  <span class="tile-name">{}</span>\n'
        "</a>",
        photo.status,
        photo_url,
        photo.original_filename,
        refresh,
        state,
        Truncator(photo.original_filename).chars(40),
    )
