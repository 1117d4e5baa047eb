from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling, trigger_client_event

from faces.models import Face
from gallery import selectors, services
from gallery.media import media_response
from gallery.models import Photo
from gallery.templatetags.gallery_extras import RESTORE_PENDING_KEY
from gallery.validation import CONTENT_TYPES, ImageRejected, clean_display_name, format_bytes
from smartgallery.fragments import library_fragment

UPLOAD_GROUPING_GRACE_SECONDS = 5


def _get_photo_for_user(request: HttpRequest, pk: int, *, trash: str = "no") -> Photo:
    """The one way views reach a photo: the signed-in user's own, else 404. `trash`: "no" (a
    photo in the trash is a 404, like every page but the trash page), "only" (the trash page's
    actions), "too" (its thumbnail, shown on the trash page)."""
    photos = {
        "no": Photo.objects.for_user(request.user),
        "only": Photo.objects.in_trash_for_user(request.user),
        "too": Photo.objects.for_user(request.user) | Photo.objects.in_trash_for_user(request.user),
    }[trash]
    try:
        return photos.get(pk=pk)
    except Photo.DoesNotExist:
        raise Http404("No such photo") from None


def _get_face_for_user(request: HttpRequest, pk: int) -> Face:
    """The one way views reach a face: the signed-in user's own, else 404."""
    try:
        return Face.objects.for_user(request.user).get(pk=pk)
    except Face.DoesNotExist:
        raise Http404("No such face") from None


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "gallery/home.html", {"gallery_url": reverse("gallery:timeline")})


# Pages --------------------------------------------------------------------------------------


@login_required
@require_safe
def timeline(request: HttpRequest) -> HttpResponse:
    """The photos by month, a page at a time ("Load more" with htmx: just the next page's grid),
    under the processing panel: kept rendered until the library changes (smartgallery.fragments)."""
    after = request.GET.get("after")
    template = "gallery/_timeline.html#grid" if request.htmx else "gallery/timeline.html#page"
    html = library_fragment(
        request,
        repr(("timeline", template, selectors.canonical_cursor(after), bool(after))),
        template,
        lambda: _timeline_context(request, after),
    )
    if request.htmx:
        return HttpResponse(html)
    return render(request, "gallery/timeline.html", {"timeline_html": html})


def _timeline_context(request: HttpRequest, after: str | None) -> dict:
    ctx = {"page": selectors.photo_timeline(user=request.user, cursor=after), "after": after}
    if not request.htmx:
        ctx["counts"] = selectors.photo_status_counts(user=request.user)
        if ctx["counts"].retryable:
            ctx["failed"] = selectors.photo_failed_groups(user=request.user)
    return ctx


@login_required
@require_safe
def photo_tile(request: HttpRequest, pk: int) -> HttpResponse:
    photo = _get_photo_for_user(request, pk)
    return render(request, "gallery/_timeline.html#tile", {"photo": photo})


@login_required
@require_safe
def processing(request: HttpRequest) -> HttpResponse:
    """The processing panel; polled by htmx while photos are pending."""
    return _processing_panel(request)


def _processing_panel(request: HttpRequest) -> HttpResponse:
    counts = selectors.photo_status_counts(user=request.user)
    ctx = {"counts": counts}
    if counts.retryable:
        ctx["failed"] = selectors.photo_failed_groups(user=request.user)
    idle = request.htmx and counts.pending == 0
    status = HttpResponseStopPolling.status_code if idle else 200
    response = render(request, "gallery/timeline.html#processing", ctx, status=status)
    try:
        pending_before = int(request.GET.get("pending", ""))
    except ValueError:
        pending_before = None
    if request.htmx and pending_before is not None and counts.pending < pending_before:
        # Placeholders in the grid listen for this and fetch their finished tile.
        trigger_client_event(response, "photos-processed")
    return response


@login_required
@require_safe
def photo_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo with its faces and the way to the newer and older ones: kept rendered until the
    library changes (smartgallery.fragments). The photo is read first: another user's is a 404."""
    photo = _get_photo_for_user(request, pk)
    html = library_fragment(
        request,
        repr(("photo", photo.pk, request.path)),
        "gallery/photo.html#page",
        lambda: _photo_context(request, photo),
    )
    return render(request, "gallery/photo.html", {"photo": photo, "photo_html": html})


def _photo_context(request: HttpRequest, photo: Photo) -> dict:
    newer, older = selectors.photo_neighbours(user=request.user, photo=photo)
    boxes = selectors.photo_face_boxes(user=request.user, photo=photo)
    return {
        "photo": photo,
        "boxes": boxes,
        "crowded": len(boxes) > selectors.CROWDED_FACES,
        "newer": newer,
        "older": older,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """One file per request from our JS (an htmx-style fragment back), many from the plain form."""
    if request.method != "POST":
        return render(request, "gallery/upload.html", _upload_context(request))
    started = timezone.now()
    # A body Django cannot read (too many files, a very long file name) never gets here: the
    # CSRF middleware reads it first, and smartgallery.views.bad_request answers.
    files = request.FILES.getlist("files")
    oversized = getattr(request, "oversized_uploads", [])
    results = [_upload_one(request, file) for file in files]
    limit = format_bytes(settings.SMARTGALLERY_MAX_UPLOAD_BYTES)
    results += [
        {"name": clean_display_name(name), "status": 413, "error": f"The file is larger than the limit of {limit}."}
        for name in oversized
    ]
    if not results:
        return _upload_error(request, "Choose one or more photos to upload.")
    status = results[0]["status"] if len(results) == 1 else 200
    if request.htmx:
        return render(request, "gallery/upload.html#results", {"results": results}, status=status)
    # Without JavaScript the page that lists the results also shows their progress.
    ctx = _upload_context(request, since=started)
    ctx["results"] = results
    return render(request, "gallery/upload.html", ctx, status=status)


def _upload_one(request: HttpRequest, file) -> dict:
    name = clean_display_name(file.name)
    try:
        photo, created = services.photo_create(owner=request.user, file=file, filename=file.name)
    except ImageRejected as rejection:
        return {"name": name, "status": rejection.status, "error": rejection.message}
    except OSError:
        return {
            "name": name,
            "status": 507,
            "error": "The photo could not be stored (a server storage problem). Try again later.",
        }
    return {"name": name, "status": 201 if created else 200, "photo": photo, "duplicate": not created}


def _upload_error(request: HttpRequest, message: str) -> HttpResponse:
    results = [{"name": "", "status": 400, "error": message}]
    if request.htmx:
        return render(request, "gallery/upload.html#results", {"results": results}, status=400)
    ctx = _upload_context(request)
    ctx["results"] = results
    return render(request, "gallery/upload.html", ctx, status=400)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_epoch_ms(value: str | None, default: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default


@login_required
@require_safe
def upload_progress(request: HttpRequest) -> HttpResponse:
    """The upload page's progress panel, polled while its photos are processed: the counts of
    the photos uploaded since the page was opened (`since`), the rows of those that finished
    since the last poll (`after`) for the page to update, and at the end what to do next."""
    now = timezone.now()
    since = _from_epoch_ms(request.GET.get("since"), now)
    after = _from_epoch_ms(request.GET.get("after"), since)
    progress = selectors.upload_progress(user=request.user, since=since)
    # Unknown faces are grouped a little after the last photo is done: the summary waits for it.
    grouping = progress.last_finished_at is not None and now - progress.last_finished_at < timedelta(
        seconds=settings.SMARTGALLERY_FACES_REGROUP_DELAY + UPLOAD_GROUPING_GRACE_SECONDS
    )
    polling = progress.pending > 0 or (progress.total > 0 and grouping)
    ctx = {
        "progress": progress,
        "since": _epoch_ms(since),
        # A second back: a photo finishing while this answer is made is in the next one too.
        "polled_at": _epoch_ms(now - timedelta(seconds=1)),
        "polling": polling,
        "grouping": grouping,
        "finished_rows": selectors.upload_finished(user=request.user, since=since, after=after),
    }
    status = 200 if polling or not request.htmx else HttpResponseStopPolling.status_code
    return render(request, "gallery/upload.html#progress", ctx, status=status)


def _upload_context(request: HttpRequest, since: datetime | None = None) -> dict:
    counts = selectors.photo_status_counts(user=request.user)
    now = timezone.now()
    ctx = {
        "progress": selectors.upload_progress(user=request.user, since=since) if since else selectors.UploadProgress(),
        "since": _epoch_ms(since or now),
        "polled_at": _epoch_ms(since or now),
        "counts": counts,
        "max_upload": format_bytes(settings.SMARTGALLERY_MAX_UPLOAD_BYTES),
        "max_upload_bytes": settings.SMARTGALLERY_MAX_UPLOAD_BYTES,
        "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        "accept": ",".join(sorted(set(CONTENT_TYPES.values()) | {"image/heic", ".heic", ".heif"})),
    }
    if counts.retryable:
        ctx["failed"] = selectors.photo_failed_groups(user=request.user)
    return ctx


# Actions ------------------------------------------------------------------------------------


@login_required
@require_POST
def photo_retry(request: HttpRequest, pk: int) -> HttpResponse:
    photo = _get_photo_for_user(request, pk)
    services.photo_retry(photo=photo)
    if request.htmx:
        return _processing_panel(request)
    messages.success(request, f"“{photo.original_filename}” is queued again.")
    # From the photo's own page, back to it (it shows its progress); else to the timeline.
    if request.POST.get("from") == "photo":
        return redirect("gallery:photo", photo.pk)
    return redirect("gallery:timeline")


@login_required
@require_POST
def photos_retry_failed(request: HttpRequest) -> HttpResponse:
    """The "Retry all failed" button: every photo that could not be processed or is shown without faces."""
    count = services.photos_retry_failed(user=request.user)
    if request.htmx:
        return _processing_panel(request)
    messages.success(request, f"{count} photo{'s are' if count != 1 else ' is'} queued again.")
    return redirect("gallery:timeline")


@login_required
@require_POST
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Into the trash, and on to the next photo (the older one, else the newer one), with Undo."""
    photo = _get_photo_for_user(request, pk)
    newer, older = selectors.photo_neighbours(user=request.user, photo=photo)
    services.photo_trash(photo=photo)
    # The next page says so in a toast with Undo (gallery_extras.photo_restore_toast).
    request.session[RESTORE_PENDING_KEY] = photo.pk
    after = older or newer
    to = reverse("gallery:photo", args=[after.pk]) if after else reverse("gallery:timeline")
    return HttpResponseClientRedirect(to) if request.htmx else redirect(to)


@login_required
@require_POST
def photo_restore(request: HttpRequest, pk: int) -> HttpResponse:
    photo = _get_photo_for_user(request, pk, trash="only")
    services.photo_restore(photo=photo)
    messages.success(request, f"Restored “{photo.original_filename}”.")
    to = reverse("gallery:photo", args=[photo.pk])
    return HttpResponseClientRedirect(to) if request.htmx else redirect(to)


@login_required
@require_POST
def photo_purge(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a photo in the trash for good, now."""
    photo = _get_photo_for_user(request, pk, trash="only")
    services.photo_delete(photo=photo)
    messages.success(request, f"Deleted “{photo.original_filename}” for good.")
    return redirect("gallery:trash")


@login_required
@require_safe
def trash(request: HttpRequest) -> HttpResponse:
    photos = selectors.photo_trash_list(user=request.user)
    return render(request, "gallery/trash.html", {"photos": photos, "keep_days": Photo.TRASH_KEEP.days})


@login_required
@require_POST
def trash_empty(request: HttpRequest) -> HttpResponse:
    count = services.photos_trash_empty(user=request.user)
    messages.success(request, f"Deleted {count} photo{'s' if count != 1 else ''} for good.")
    return redirect("gallery:trash")


# Media --------------------------------------------------------------------------------------


@login_required
@require_safe
def photo_original(request: HttpRequest, pk: int) -> HttpResponse:
    photo = _get_photo_for_user(request, pk)
    stem = photo.original_filename.rsplit(".", 1)[0] or "photo"
    # The extension follows the real format, whatever the uploaded name said.
    return media_response(
        photo.original,
        content_type=CONTENT_TYPES.get(photo.image_format, "application/octet-stream"),
        download_name=f"{stem}{photo.storage_extension}",
    )


@login_required
@require_safe
def photo_preview(request: HttpRequest, pk: int) -> HttpResponse:
    photo = _get_photo_for_user(request, pk)
    return media_response(photo.preview, content_type="image/jpeg")


@login_required
@require_safe
def photo_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    photo = _get_photo_for_user(request, pk, trash="too")  # the trash page shows them too
    return media_response(photo.thumbnail, content_type="image/jpeg")


@login_required
@require_safe
def face_crop(request: HttpRequest, pk: int) -> HttpResponse:
    face = _get_face_for_user(request, pk)
    return media_response(face.crop, content_type="image/jpeg")
