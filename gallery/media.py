"""Sending a stored file to its owner, after the view checked ownership.

Either Django streams it (FileResponse), or, with SMARTGALLERY_X_ACCEL_REDIRECT, nginx does
from an `internal;` location that clients cannot request themselves (docs/PHOTOS.md).
"""

from urllib.parse import quote

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

# Media never runs as a page: no scripts, no plugins, no same-origin access, even if a
# browser were tricked into rendering it as HTML.
MEDIA_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def media_response(
    stored: FieldFile,
    *,
    content_type: str,
    download_name: str | None = None,
    cache_seconds: int = 3600,
) -> HttpResponse:
    """The file behind `stored`, as an attachment when `download_name` is given."""
    if not stored or not stored.name:
        raise Http404("No such file")
    if settings.SMARTGALLERY_X_ACCEL_REDIRECT:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_URL + quote(stored.name)
    else:
        try:
            handle = stored.storage.open(stored.name, "rb")
        except FileNotFoundError:
            raise Http404("No such file") from None
        response = FileResponse(handle, content_type=content_type)
    if download_name is not None:
        response["Content-Disposition"] = content_disposition_header(True, download_name)
    else:
        response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    # 0: the browser asks again each time (a shared library's media, closed by a revoke).
    response["Cache-Control"] = f"private, max-age={cache_seconds}" if cache_seconds else "private, no-cache"
    return response
