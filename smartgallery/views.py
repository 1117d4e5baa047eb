"""Site-wide error pages that need more than a template."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse

from gallery.validation import format_bytes

UPLOAD_VIEW = "gallery:upload"


def _body_message(exception: Exception | None) -> str:
    if isinstance(exception, TooManyFilesSent):
        return f"Too many files in one go: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}. Choose fewer and try again."
    if isinstance(exception, TooManyFieldsSent):
        return "The form has too many fields."
    if isinstance(exception, RequestDataTooBig):
        return f"The form is larger than the limit of {format_bytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}."
    if isinstance(exception, MultiPartParserError):
        # Django refuses a part whose headers pass 1 KB: in practice a file name of about a
        # thousand characters.
        return "The upload could not be read. If a file name is very long, shorten it and try again."
    return "The request could not be read."


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 in our layout with a message that says what was wrong (handler400).

    A form's body is read before any view runs: the CSRF middleware reads the token from it,
    so an upload of too many files or with a very long file name ends here, not in the
    upload view (issue 15 §6). Our upload script puts the answer's result row in its list.
    """
    message = _body_message(exception)
    match = getattr(request, "resolver_match", None)
    upload = match is not None and match.view_name == UPLOAD_VIEW
    if upload and getattr(request, "htmx", False):
        results = [{"name": "", "status": 400, "error": message}]
        return render(request, "gallery/upload.html#results", {"results": results}, status=400)
    back = reverse(UPLOAD_VIEW) if upload else reverse("home")
    return render(request, "400.html", {"message": message, "back": back}, status=400)
