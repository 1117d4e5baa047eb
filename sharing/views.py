"""Sharing: the owner's Sharing page (invite, list, revoke), and the viewer's read-only pages of
a library shared with them, under /shared/<share_id>/.

The viewer's pages reach rows only through sharing.selectors, whose every query checks that
the share is live and opened to the signed-in user. They answer GET and HEAD only and offer
nothing that writes: naming, correcting, deleting and uploading stay on the owner's routes,
which answer 404 to anyone but the owner. Any id outside the live library is a 404, the same
as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from faces.forms import PhotoFilterForm, list_offset, name_query, page_url
from faces.selectors import PEOPLE_PAGE_SIZE
from gallery.media import media_response
from gallery.selectors import face_boxes, neighbours_in, timeline_page
from gallery.validation import CONTENT_TYPES
from sharing import selectors, services
from sharing.forms import InviteForm
from sharing.models import Share

# The owner's page --------------------------------------------------------------------------


def _sharing_page(request: HttpRequest, form: InviteForm, notice: str = "") -> HttpResponse:
    context = {"form": form, "shares": selectors.shares_given(owner=request.user), "notice": notice}
    template = "sharing/settings.html#sharing" if request.htmx else "sharing/settings.html"
    return render(request, template, context)


def _done(request: HttpRequest, notice: str) -> HttpResponse:
    if request.htmx:
        return _sharing_page(request, InviteForm(), notice)
    messages.success(request, notice)
    return redirect("sharing:settings")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def sharing_settings(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _sharing_page(request, InviteForm())
    # Each invitation mails an address the owner typed: bounded, so the page cannot be used to
    # send mail to strangers in bulk.
    limited = ratelimit.consume_or_429(request, action="share_invite", user=request.user)
    if limited:
        return limited
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            share = services.share_invite(
                owner=request.user, email=form.cleaned_data["email"], site_url=request.build_absolute_uri("/")
            )
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            # The same words whether an account has this address or not.
            return _done(
                request,
                f"Invitation sent to {share.email}. They can see your library once they sign in with this address.",
            )
    return _sharing_page(request, form)


@login_required
@require_POST
def share_revoke(request: HttpRequest, share_id: int) -> HttpResponse:
    try:
        share = services.share_revoke(owner=request.user, share_id=share_id)
    except Share.DoesNotExist:
        raise Http404("Not found") from None
    return _done(request, f"{share.email} can no longer see your library.")


# The viewer's pages ------------------------------------------------------------------------


def library_view(own_route: str) -> Callable:
    """For the viewer's pages: an id outside the live shared library (the share itself
    included) is a 404. The library's owner following a link into it lands on her own page of
    the same object instead."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, share_id: int, **kwargs) -> HttpResponse:
            try:
                return view(request, share_id, **kwargs)
            except ObjectDoesNotExist:
                if not Share.objects.given_by(request.user).filter(pk=share_id).exists():
                    raise Http404("Not found") from None
            url = reverse(own_route, kwargs=kwargs)
            # The page's own parameters (a filter, a cursor) go along; a `next` never does:
            # shared pages have no forms, so a `next` here only ever comes from a crafted link.
            query = request.GET.copy()
            query.pop("next", None)
            return redirect(f"{url}?{query.urlencode()}" if query else url)

        return wrapper

    return decorate


@login_required
@require_safe
@library_view("gallery:timeline")
def library(request: HttpRequest, share_id: int) -> HttpResponse:
    shared = selectors.library_get(viewer=request.user, share_id=share_id)
    photos = selectors.shared_photos(viewer=request.user, share_id=share_id)
    context = {"shared_library": shared, "page": timeline_page(photos, cursor=request.GET.get("after"))}
    if request.htmx:
        return render(request, "gallery/_timeline.html#grid", context)
    return render(request, "sharing/library.html", context)


@login_required
@require_safe
@library_view("gallery:photo")
def photo(request: HttpRequest, share_id: int, pk: int) -> HttpResponse:
    shared = selectors.library_get(viewer=request.user, share_id=share_id)
    photos = selectors.shared_photos(viewer=request.user, share_id=share_id)
    photo = photos.get(pk=pk)
    newer, older = neighbours_in(photos, photo)
    boxes = face_boxes(selectors.shared_faces(viewer=request.user, share_id=share_id).filter(photo=photo), photo)
    context = {"shared_library": shared, "photo": photo, "boxes": boxes, "newer": newer, "older": older}
    return render(request, "sharing/photo.html", context)


@login_required
@require_safe
@library_view("gallery:original")
def photo_original(request: HttpRequest, share_id: int, pk: int) -> HttpResponse:
    photo = selectors.shared_photos(viewer=request.user, share_id=share_id).get(pk=pk)
    stem = photo.original_filename.rsplit(".", 1)[0] or "photo"
    return media_response(
        photo.original,
        content_type=CONTENT_TYPES.get(photo.image_format, "application/octet-stream"),
        download_name=f"{stem}{photo.storage_extension}",
        cache_seconds=0,
    )


# Shared media is never cached by the browser: after a revoke, showing it again asks us again.


@login_required
@require_safe
@library_view("gallery:preview")
def photo_preview(request: HttpRequest, share_id: int, pk: int) -> HttpResponse:
    photo = selectors.shared_photos(viewer=request.user, share_id=share_id).get(pk=pk)
    return media_response(photo.preview, content_type="image/jpeg", cache_seconds=0)


@login_required
@require_safe
@library_view("gallery:thumbnail")
def photo_thumbnail(request: HttpRequest, share_id: int, pk: int) -> HttpResponse:
    photo = selectors.shared_photos(viewer=request.user, share_id=share_id).get(pk=pk)
    return media_response(photo.thumbnail, content_type="image/jpeg", cache_seconds=0)


@login_required
@require_safe
@library_view("gallery:face_crop")
def face_crop(request: HttpRequest, share_id: int, pk: int) -> HttpResponse:
    face = selectors.shared_faces(viewer=request.user, share_id=share_id).get(pk=pk)
    return media_response(face.crop, content_type="image/jpeg", cache_seconds=0)


@login_required
@require_safe
@library_view("faces:people")
def people(request: HttpRequest, share_id: int) -> HttpResponse:
    """The people shown a page at a time, as on the owner's People page ("Show more people" swaps
    itself for the next rows; a plain link without JavaScript); "Find a person" (`q`) narrowing
    them, and as you type, just the list."""
    shared = selectors.library_get(viewer=request.user, share_id=share_id)
    query = name_query(request.GET)
    offset = list_offset(request.GET)
    page = selectors.shared_person_page(
        viewer=request.user, share_id=share_id, query=query, offset=offset, limit=PEOPLE_PAGE_SIZE
    )
    base = reverse("sharing:people", args=[share_id])
    params = {"q": query} if query else {}
    context = {
        "shared_library": shared,
        "q": query,
        "offset": offset,
        "persons": page.persons,
        "persons_total": page.total,
        "page_end": offset + len(page.persons),
        "more_url": page_url(base, params, offset=page.next_offset),
        "first_url": page_url(base, params),
    }
    if request.htmx.target == "people-more":
        return render(request, "sharing/people.html#person-rows", context)
    if request.htmx.target == "people-list":
        return render(request, "sharing/people.html#people-list", context)
    return render(request, "sharing/people.html", context)


@login_required
@require_safe
@library_view("faces:person")
def person(request: HttpRequest, share_id: int, person_id: int) -> HttpResponse:
    shared = selectors.library_get(viewer=request.user, share_id=share_id)
    person = selectors.shared_persons(viewer=request.user, share_id=share_id).get(pk=person_id)
    page = selectors.shared_person_photos(
        viewer=request.user, share_id=share_id, person=person, cursor=request.GET.get("after")
    )
    context = {"shared_library": shared, "person": person, "photos": page.photos, "next_cursor": page.next_cursor}
    if request.htmx and "after" in request.GET:
        return render(request, "sharing/person.html#photo-page", context)
    return render(request, "sharing/person.html", context)


@login_required
@require_safe
@library_view("faces:photo_filter")
def photo_filter(request: HttpRequest, share_id: int) -> HttpResponse:
    """The owner's "Photos by people" on the shared library, "Find a person" (`q`) included."""
    shared = selectors.library_get(viewer=request.user, share_id=share_id)
    picked = [int(pid) for pid in request.GET.getlist("person") if pid.isdecimal()]
    query = name_query(request.GET)
    names = selectors.shared_person_names(viewer=request.user, share_id=share_id, query=query, keep=picked)
    form = PhotoFilterForm(request.GET or None, person_choices=[(str(pid), name) for pid, name in names])
    if request.htmx.target == "person-picks":
        return render(request, "faces/_photo_filter_form.html#person-picks", {"form": form, "q": query})
    context = {"shared_library": shared, "form": form, "photos": None, "next_cursor": None, "query": "", "q": query}
    if form.is_valid() and form.cleaned_data["person"]:
        data = form.cleaned_data
        page = selectors.shared_photos_by_people(
            viewer=request.user,
            share_id=share_id,
            person_ids=data["person"],
            mode=data["mode"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            cursor=request.GET.get("after"),
        )
        query = request.GET.copy()
        query.pop("after", None)
        context.update(photos=page.photos, next_cursor=page.next_cursor, query=query.urlencode())
        if request.htmx and request.GET.get("after"):
            return render(request, "faces/_photo_filter_results.html#photo-page", context)
    return render(request, "sharing/photo_filter.html", context)
