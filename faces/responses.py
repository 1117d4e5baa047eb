"""How the people pages answer an action: a toast (with Undo) next to the updated region on an
htmx request, a redirect back with a message without JavaScript, and the Undo store.

The views decide what changed and which region to redraw; these helpers only shape the answer,
so every action answers the same way.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect, reswap, trigger_client_event

from faces.services import LabelsChange

UNDO_SESSION_KEY = "faces_undo"
UNDO_PENDING_KEY = "faces_undo_pending"
UNDO_KEEP = 5
UNDO_MAX_AGE_SECONDS = 30 * 60
FACES_CHANGED = "facesChanged"
# The same action repeated within this many seconds of the last one joins its toast ("Not
# Karin ×6", one "Undo all") instead of piling up one toast each (app.js shows a toast with Undo
# for 15 seconds after the pointer and the keyboard left it).
TOAST_SESSION_KEY = "faces_toast"
COALESCE_SECONDS = 15


@contextmanager
def owned() -> Iterator[None]:
    """Services and selectors raise DoesNotExist for any id that is not the user's (a target
    person in a form included): that is a 404 like every other foreign id."""
    try:
        yield
    except ObjectDoesNotExist:
        raise Http404("Not found") from None


def next_url(request: HttpRequest, default: str) -> str:
    """The form's `next` (or the query's), when it is a path on this site.

    Only a path: redirect() takes any other string for the name of a URL pattern, so
    next=-1 or next=home was a 500 (NoReverseMatch) or a redirect to whatever that name is.
    """
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _undo_store(request: HttpRequest, now: float) -> dict:
    return {
        token: entry
        for token, entry in request.session.get(UNDO_SESSION_KEY, {}).items()
        if now - entry["at"] < UNDO_MAX_AGE_SECONDS
    }


def remember_undo(request: HttpRequest, change: LabelsChange) -> str:
    """Keep the undo payload server-side, in the user's session, under a random token: the
    browser only ever sends the token back, never the payload."""
    now = time.time()
    store = _undo_store(request, now)
    token = secrets.token_urlsafe(16)
    store[token] = {"at": now, "change": change.as_dict()}
    newest = sorted(store.items(), key=lambda item: item[1]["at"])[-UNDO_KEEP:]
    request.session[UNDO_SESSION_KEY] = dict(newest)
    return token


def _merge_changes(first: dict, then: dict) -> dict:
    """One change that undoes `first` and `then` (in that order) at once: their lists joined in
    the order they happened, which is what labels_undo expects of a face snapshotted twice."""
    merged = {key: list(first.get(key, [])) + list(then.get(key, [])) for key in first if isinstance(first[key], list)}
    merged["person_created"] = first.get("person_created") or then.get("person_created")
    return merged


def remember_repeated_undo(request: HttpRequest, change: LabelsChange, *, key: str) -> tuple[str, int]:
    """Like remember_undo, but the same action (`key`) repeated soon after the last one is added
    to the last one's change: (its token, how many actions it now holds)."""
    now = time.time()
    last = request.session.get(TOAST_SESSION_KEY) or {}
    store = _undo_store(request, now)
    if last.get("key") == key and now - last.get("at", 0) < COALESCE_SECONDS and last.get("token") in store:
        token, count = last["token"], last["count"] + 1
        store[token] = {"at": now, "change": _merge_changes(store[token]["change"], change.as_dict())}
        request.session[UNDO_SESSION_KEY] = store
    else:
        token, count = remember_undo(request, change), 1
    request.session[TOAST_SESSION_KEY] = {"key": key, "token": token, "count": count, "at": now}
    return token, count


def pop_undo(request: HttpRequest, token: str) -> dict | None:
    """The change stored under `token` (once), or None."""
    store = request.session.get(UNDO_SESSION_KEY, {})
    entry = store.pop(token, None)
    if entry is not None:
        request.session[UNDO_SESSION_KEY] = store
    return entry["change"] if entry else None


def toast(
    request: HttpRequest, message: str, *, undo_token: str | None = None, error: bool = False, count: int = 1
) -> str:
    return render_to_string(
        "faces/_toast.html",
        {"message": message, "undo_token": undo_token, "error": error, "count": count},
        request=request,
    )


def done(
    request: HttpRequest,
    message: str,
    *,
    redirect_to: str,
    change: LabelsChange | None = None,
    html: str = "",
    undoable: bool = True,
    repeatable: bool = False,
) -> HttpResponse:
    """The answer to a successful action: on htmx the updated region plus a toast (with Undo
    when the service returned a change); otherwise a redirect back with a message.

    `repeatable`: the same action again (the same message) within a few seconds joins the last
    toast and its Undo, as when one clicks "No" down a grid of faces."""
    token, count = None, 1
    if undoable and change is not None:
        if request.htmx and repeatable:
            token, count = remember_repeated_undo(request, change, key=message)
        else:
            token = remember_undo(request, change)
    if request.htmx:
        response = HttpResponse(html + toast(request, message, undo_token=token, count=count))
        return trigger_client_event(response, FACES_CHANGED)
    messages.success(request, message)
    if token:
        request.session[UNDO_PENDING_KEY] = token
    return redirect(next_url(request, redirect_to))


def done_elsewhere(request: HttpRequest, message: str, *, change: LabelsChange, to: str) -> HttpResponse:
    """Success that leaves the page (merge, delete): the toast and its Undo wait for the next one."""
    messages.success(request, message)
    request.session[UNDO_PENDING_KEY] = remember_undo(request, change)
    return HttpResponseClientRedirect(to) if request.htmx else redirect(to)


def failed(request: HttpRequest, message: str, *, redirect_to: str) -> HttpResponse:
    if request.htmx:
        # The page stays as it is; only the toast is swapped in (out of band).
        return reswap(HttpResponse(toast(request, message, error=True)), "none")
    messages.error(request, message)
    return redirect(next_url(request, redirect_to))
