"""People pages: persons, unnamed groups, the review queue, face actions and the people filter.

Thin views over faces.selectors (reads) and faces.services (writes). Every object is reached
through one of the owner-scoped helpers below or through a service/selector that loads it with
`for_user` (both sides of every relation); an id that is not the user's is a 404, the same as
one that does not exist. Each page is one template whose swappable regions are partials: on an
htmx request the same view answers with just the region (django-htmx + template-partials).
Without JavaScript every form still works: POST, then a redirect back with a message.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Count, F, Q, Window
from django.db.models.functions import Lower, RowNumber
from django.db.models.query import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh, reswap, trigger_client_event

from faces import selectors, services
from faces.forms import (
    BirthDateForm,
    CoverForm,
    MergeForm,
    NotThisPersonForm,
    PhotoFilterForm,
    RenameForm,
    WhoForm,
)
from faces.models import Face, FaceGroup, Person
from gallery.selectors import decode_cursor, encode_cursor

GROUPS_SHOWN = 24
GROUP_SAMPLES = 6
GROUP_PAGE_FACES = 300
REVIEW_GRID_PER_PERSON = 24
UNDO_SESSION_KEY = "faces_undo"
UNDO_PENDING_KEY = "faces_undo_pending"
UNDO_KEEP = 5
UNDO_MAX_AGE_SECONDS = 30 * 60
FACES_CHANGED = "facesChanged"


# Access helpers: the only way these views reach a user's objects ---------------------------


def _get_person(request: HttpRequest, person_id: int) -> Person:
    return get_object_or_404(Person.objects.for_user(request.user).select_related("cover_face"), pk=person_id)


def _get_face(request: HttpRequest, face_id: int) -> Face:
    return get_object_or_404(Face.objects.for_user(request.user).select_related("person", "photo"), pk=face_id)


def _get_group(request: HttpRequest, group_id: int) -> FaceGroup:
    return get_object_or_404(FaceGroup.objects.for_user(request.user), pk=group_id)


@contextmanager
def _owned() -> Iterator[None]:
    """Services and selectors raise DoesNotExist for any id that is not the user's (a target
    person in a form included): that is a 404 like every other foreign id."""
    try:
        yield
    except ObjectDoesNotExist:
        raise Http404("Not found") from None


def _next_url(request: HttpRequest, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _person_names(user) -> list[tuple[int, str]]:
    """For the name boxes' <datalist> autocomplete and the pick-a-person lists."""
    return list(Person.objects.for_user(user).order_by(Lower("name"), "id").values_list("id", "name"))


# Toasts and Undo ---------------------------------------------------------------------------


def _remember_undo(request: HttpRequest, change: services.LabelsChange) -> str:
    """Keep the undo payload server-side, in the user's session, under a random token: the
    browser only ever sends the token back, never the payload."""
    now = time.time()
    store = {
        token: entry
        for token, entry in request.session.get(UNDO_SESSION_KEY, {}).items()
        if now - entry["at"] < UNDO_MAX_AGE_SECONDS
    }
    token = secrets.token_urlsafe(16)
    store[token] = {"at": now, "change": change.as_dict()}
    newest = sorted(store.items(), key=lambda item: item[1]["at"])[-UNDO_KEEP:]
    request.session[UNDO_SESSION_KEY] = dict(newest)
    return token


def _toast(request: HttpRequest, message: str, *, undo_token: str | None = None, error: bool = False) -> str:
    return render_to_string(
        "faces/_toast.html", {"message": message, "undo_token": undo_token, "error": error}, request=request
    )


def _done(
    request: HttpRequest,
    message: str,
    *,
    redirect_to: str,
    change: services.LabelsChange | None = None,
    html: str = "",
    undoable: bool = True,
) -> HttpResponse:
    """The answer to a successful action: on htmx the updated region plus a toast (with Undo
    when the service returned a change); otherwise a redirect back with a message."""
    token = _remember_undo(request, change) if (undoable and change is not None) else None
    if request.htmx:
        response = HttpResponse(html + _toast(request, message, undo_token=token))
        return trigger_client_event(response, FACES_CHANGED)
    messages.success(request, message)
    if token:
        request.session[UNDO_PENDING_KEY] = token
    return redirect(_next_url(request, redirect_to))


def _done_elsewhere(request: HttpRequest, message: str, *, change: services.LabelsChange, to: str) -> HttpResponse:
    """Success that leaves the page (merge, delete): the toast and its Undo wait for the next one."""
    messages.success(request, message)
    request.session[UNDO_PENDING_KEY] = _remember_undo(request, change)
    return HttpResponseClientRedirect(to) if request.htmx else redirect(to)


def _failed(request: HttpRequest, message: str, *, redirect_to: str) -> HttpResponse:
    if request.htmx:
        # The page stays as it is; only the toast is swapped in (out of band).
        return reswap(HttpResponse(_toast(request, message, error=True)), "none")
    messages.error(request, message)
    return redirect(_next_url(request, redirect_to))


@require_POST
@login_required
def undo(request: HttpRequest, token: str) -> HttpResponse:
    store = request.session.get(UNDO_SESSION_KEY, {})
    entry = store.pop(token, None)
    if entry is None:
        raise Http404("Nothing to undo")
    request.session[UNDO_SESSION_KEY] = store
    with _owned():
        services.labels_undo(user=request.user, change=entry["change"])
    messages.success(request, "Undone.")
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(_next_url(request, reverse("faces:people")))


# People page -------------------------------------------------------------------------------


def _groups_with_samples(user) -> list[FaceGroup]:
    groups = list(selectors.group_list(user=user)[:GROUPS_SHOWN])
    if not groups:
        return groups
    # A few of the biggest faces of every group, in one query (not one per group).
    samples = (
        Face.objects.for_user(user)
        .filter(group_id__in=[g.id for g in groups], state=Face.State.UNKNOWN)
        .annotate(rank=Window(RowNumber(), partition_by=[F("group_id")], order_by=[F("size_px").desc(), F("id").asc()]))
        .filter(rank__lte=GROUP_SAMPLES)
        .order_by("group_id", "rank")
    )
    by_group: dict[int, list[Face]] = {}
    for face in samples:
        by_group.setdefault(face.group_id, []).append(face)
    for group in groups:
        group.samples = by_group.get(group.id, [])
    return groups


def _people_context(request: HttpRequest) -> dict:
    sort = "name" if request.GET.get("sort") == "name" else "count"
    show_hidden = request.GET.get("hidden") == "1"
    persons = selectors.person_list(user=request.user, include_hidden=True, order=sort)
    return {
        "sort": sort,
        "show_hidden": show_hidden,
        "persons": [p for p in persons if not p.hidden],
        "hidden_persons": [p for p in persons if p.hidden],
        "person_names": [(p.id, p.name) for p in sorted(persons, key=lambda p: (p.name.lower(), p.id))],
    }


@require_GET
@login_required
def people(request: HttpRequest) -> HttpResponse:
    context = _people_context(request)
    if request.htmx.target == "people-list":
        return render(request, "faces/people.html#people-list", context)
    context["groups"] = _groups_with_samples(request.user)
    if request.htmx.target == "groups":
        return render(request, "faces/people.html#groups", context)
    context["has_photos"] = request.user.photos.exists()
    return render(request, "faces/people.html", context)


# Unnamed groups ----------------------------------------------------------------------------


@require_GET
@login_required
def group(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _get_group(request, group_id)
    with _owned():
        faces = selectors.group_faces(user=request.user, group_id=group.id).order_by("-size_px", "id")
    faces = list(faces[:GROUP_PAGE_FACES])
    return render(
        request,
        "faces/group.html",
        {
            "group": group,
            "faces": faces,
            "form": WhoForm(user=request.user),
            "person_names": _person_names(request.user),
        },
    )


@require_POST
@login_required
def group_name(request: HttpRequest, group_id: int) -> HttpResponse:
    """Name the whole group (`all`) or the faces picked from it (`face`, repeated)."""
    group = _get_group(request, group_id)
    back = reverse("faces:group", args=[group.id])
    form = WhoForm(request.POST, user=request.user)
    if not form.is_valid():
        return _failed(request, " ".join(form.non_field_errors()) or "Type a name.", redirect_to=back)
    try:
        face_ids = [int(f) for f in request.POST.getlist("face")]
    except ValueError:
        raise Http404("Not found") from None
    if not face_ids and not request.POST.get("all"):
        return _failed(request, "Pick at least one face.", redirect_to=back)
    try:
        with _owned():
            if face_ids:
                change = services.group_name_partial(
                    user=request.user, group_id=group.id, face_ids=face_ids, **form.target()
                )
            else:
                change = services.group_name(user=request.user, group_id=group.id, **form.target())
    except ValidationError as exc:
        return _failed(request, _error_text(exc), redirect_to=back)
    name = change.named_person_name  # not loaded again: the person may be deleted by now
    named = sum(1 for snap in change.faces if snap.group_id == group.id and snap.state == Face.State.UNKNOWN)
    message = f"Named {named} face{'s' if named != 1 else ''} {name}."
    if change.skipped_face_ids:
        message += (
            f" {len(change.skipped_face_ids)} left unknown: rejected for {name} before,"
            " or their photo already has them."
        )
    remaining = selectors.group_list(user=request.user).filter(pk=group.id).exists()
    return _done(request, message, change=change, redirect_to=back if remaining else reverse("faces:people"))


@require_POST
@login_required
def group_dismiss(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _get_group(request, group_id)
    with _owned():
        change = services.group_dismiss(user=request.user, group_id=group.id)
    return _done(request, "Group dismissed.", change=change, redirect_to=reverse("faces:people"))


# Person page -------------------------------------------------------------------------------


def _person_stats(request: HttpRequest, person: Person) -> dict:
    shown = Q(state__in=selectors.SHOWN_STATES)
    return (
        Face.objects.for_user(request.user)
        .filter(person=person)
        .aggregate(
            face_count=Count("id", filter=shown),
            photo_count=Count("photo", filter=shown, distinct=True),
            suggested_count=Count("id", filter=Q(state=Face.State.SUGGESTED)),
        )
    )


def _heading_context(request: HttpRequest, person: Person, **extra) -> dict:
    return {
        "person": person,
        "stats": _person_stats(request, person),
        "rename_form": extra.pop("rename_form", None) or RenameForm(initial={"name": person.name}),
        "birth_form": extra.pop("birth_form", None) or BirthDateForm(initial={"birth_date": person.birth_date}),
        **extra,
    }


def _photo_page(request: HttpRequest, person: Person) -> dict:
    with _owned():
        page = selectors.person_photos(
            user=request.user, person_id=person.id, after=decode_cursor(request.GET.get("after"))
        )
    faces = (
        Face.objects.for_user(request.user)
        .filter(person=person, state__in=selectors.SHOWN_STATES, photo_id__in=[p.id for p in page.photos])
        .order_by("photo_id", "-state", "id")
    )
    face_of = {}
    for face in faces:
        face_of.setdefault(face.photo_id, face)
    return {
        "tiles": [(photo, face_of.get(photo.id)) for photo in page.photos],
        "next_cursor": encode_cursor(*page.next_cursor) if page.next_cursor else None,
    }


@require_GET
@login_required
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    if request.htmx.target == "person-heading":
        return render(request, "faces/person.html#heading", _heading_context(request, person))
    context = {"person": person, **_photo_page(request, person)}
    if request.htmx and "after" in request.GET:
        return render(request, "faces/person.html#photo-page", context)
    context.update(_heading_context(request, person))
    return render(request, "faces/person.html", context)


def _heading_done(request: HttpRequest, person: Person, message: str) -> HttpResponse:
    person.refresh_from_db()
    html = ""
    if request.htmx:
        html = render_to_string("faces/person.html#heading", _heading_context(request, person), request=request)
    response = _done(request, message, html=html, redirect_to=reverse("faces:person", args=[person.id]))
    return response


def _heading_failed(request: HttpRequest, person: Person, **forms) -> HttpResponse:
    if request.htmx:
        return render(request, "faces/person.html#heading", _heading_context(request, person, **forms))
    errors = [
        e
        for form in forms.values()
        for e in form.errors.get("__all__", []) + sum((list(v) for k, v in form.errors.items() if k != "__all__"), [])
    ]
    messages.error(request, " ".join(errors) or "That did not work.")
    return redirect("faces:person", person.id)


@require_POST
@login_required
def person_rename(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            with _owned():
                services.person_rename(user=request.user, person_id=person.id, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
    if not form.is_valid():
        return _heading_failed(request, person, rename_form=form)
    return _heading_done(request, person, "Renamed.")


@require_POST
@login_required
def person_birth_date(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    form = BirthDateForm(request.POST)
    if form.is_valid():
        try:
            with _owned():
                services.person_set_birth_date(
                    user=request.user, person_id=person.id, birth_date=form.cleaned_data["birth_date"]
                )
        except ValidationError as exc:
            form.add_error(None, exc)
    if not form.is_valid():
        return _heading_failed(request, person, birth_form=form)
    return _heading_done(request, person, "Birth date saved.")


@require_POST
@login_required
def person_hide(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    with _owned():
        services.person_hide(user=request.user, person_id=person.id)
    return _heading_done(request, person, f"{person.name} is hidden from the people list.")


@require_POST
@login_required
def person_unhide(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    with _owned():
        services.person_unhide(user=request.user, person_id=person.id)
    return _heading_done(request, person, f"{person.name} is shown in the people list again.")


@require_POST
@login_required
def person_cover(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    back = reverse("faces:person", args=[person.id])
    form = CoverForm(request.POST)
    if not form.is_valid():
        return _failed(request, "Pick one of this person's faces.", redirect_to=back)
    face_id = form.cleaned_data["face"]
    if face_id is not None:
        _get_face(request, face_id)  # both sides: the face must be the user's too
    try:
        with _owned():
            services.person_set_cover(user=request.user, person_id=person.id, face_id=face_id)
    except ValidationError as exc:
        return _failed(request, _error_text(exc), redirect_to=back)
    return _done(request, "Cover updated." if face_id else "The cover is picked automatically again.", redirect_to=back)


@require_http_methods(["GET", "POST"])
@login_required
def person_merge(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            return _failed(
                request, "Pick the person to merge into.", redirect_to=reverse("faces:person_merge", args=[person.id])
            )
        into = _get_person(request, form.cleaned_data["into"])
        try:
            with _owned():
                change = services.person_merge(user=request.user, person_id=person.id, into_person_id=into.id)
        except ValidationError as exc:
            return _failed(request, _error_text(exc), redirect_to=reverse("faces:person_merge", args=[person.id]))
        return _done_elsewhere(
            request,
            f"Merged {person.name} into {into.name}.",
            change=change,
            to=reverse("faces:person", args=[into.id]),
        )
    with _owned():
        ranked = selectors.merge_candidates(user=request.user, person_id=person.id, limit=8)
    candidates = [c.other for c in ranked]
    similarity = {c.other.id: c.similarity for c in ranked}
    prefetch_related_objects(candidates, "cover_face")
    for candidate in candidates:
        candidate.similarity = similarity[candidate.id]
    ranked_ids = {c.id for c in candidates}
    others = [(pid, name) for pid, name in _person_names(request.user) if pid != person.id and pid not in ranked_ids]
    return render(request, "faces/merge.html", {"person": person, "candidates": candidates, "others": others})


@require_POST
@login_required
def person_delete(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    with _owned():
        change = services.person_delete(user=request.user, person_id=person.id)
    return _done_elsewhere(
        request, f"Deleted {person.name}; their faces are unknown again.", change=change, to=reverse("faces:people")
    )


# Face panel and face actions ---------------------------------------------------------------


def _panel_context(request: HttpRequest, face: Face, **extra) -> dict:
    return {
        "face": face,
        "form": extra.pop("form", None) or WhoForm(user=request.user),
        "person_names": _person_names(request.user),
        "next": _next_url(request, ""),
        **extra,
    }


@require_GET
@login_required
def face(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    context = _panel_context(request, face)
    if request.htmx:
        return render(request, "faces/face.html#panel", context)
    return render(request, "faces/face.html", context)


def _face_done(request: HttpRequest, face: Face, message: str, change: services.LabelsChange | None) -> HttpResponse:
    """Answer a face action in the place it came from (the `from` field of its form)."""
    origin = request.POST.get("from", "panel")
    html = ""
    if request.htmx:
        if origin == "review":
            html = render_to_string(
                "faces/review.html#card", _review_context(request, source=request.POST), request=request
            )
        elif origin == "review-grid":
            html = render_to_string("faces/review.html#remaining-oob", _review_context(request), request=request)
        elif origin == "panel":
            fresh = _get_face(request, face.id)
            html = render_to_string("faces/face.html#panel", _panel_context(request, fresh), request=request)
        # "tile": the face leaves the list it was shown in; an empty answer removes it.
    return _done(request, message, change=change, html=html, redirect_to=reverse("faces:face", args=[face.id]))


def _face_failed(request: HttpRequest, face: Face, message: str) -> HttpResponse:
    return _failed(request, message, redirect_to=reverse("faces:face", args=[face.id]))


def _face_action(
    request: HttpRequest,
    face: Face,
    service: Callable[..., services.LabelsChange],
    message: Callable[[], str],
    **arguments,
) -> HttpResponse:
    """Run a face service for the user on `face`: its ValidationError is the failure toast, else
    the success answer says `message()`, called only after the service succeeded."""
    try:
        with _owned():
            change = service(user=request.user, face_id=face.id, **arguments)
    except ValidationError as exc:
        return _face_failed(request, face, _error_text(exc))
    return _face_done(request, face, message(), change)


@require_POST
@login_required
def face_assign(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    form = WhoForm(request.POST, user=request.user)
    if not form.is_valid():
        if request.htmx and request.POST.get("from", "panel") == "panel":
            return render(request, "faces/face.html#panel", _panel_context(request, face, form=form))
        return _face_failed(request, face, " ".join(form.non_field_errors()) or "Type a name or pick a person.")
    try:
        with _owned():
            change = services.face_assign(user=request.user, face_id=face.id, **form.target())
    except ValidationError as exc:
        return _face_failed(request, face, _error_text(exc))
    name = change.named_person_name  # not loaded again: the person may be deleted by now
    if face.person_id and face.person_id != change.named_person_id and face.state in services.NAMED_STATES:
        message = f"Moved from {face.person.name} to {name}."
    else:
        message = f"Named {name}."
    return _face_done(request, face, message, change)


@require_POST
@login_required
def face_confirm(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    return _face_action(request, face, services.face_confirm, lambda: f"Confirmed {face.person.name}.")


@require_POST
@login_required
def face_reject(request: HttpRequest, face_id: int) -> HttpResponse:
    """ "Not this person" (also: "no" to a suggestion). The person is the face's own unless the
    form names one, which is then loaded through the owner's persons like the face."""
    face = _get_face(request, face_id)
    form = NotThisPersonForm(request.POST)
    person_id = form.cleaned_data["person"] if form.is_valid() else None
    person = _get_person(request, person_id) if person_id else face.person
    if person is None:
        return _face_failed(request, face, "This face has no person to reject.")
    return _face_action(
        request, face, services.face_not_this_person, lambda: f"Not {person.name}: remembered.", person_id=person.id
    )


@require_POST
@login_required
def face_unassign(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    return _face_action(request, face, services.face_unassign, lambda: f"Removed from {face.person.name}.")


@require_POST
@login_required
def face_not_a_face(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    return _face_action(request, face, services.face_mark_not_a_face, lambda: "Marked as not a face.")


# Review queue ------------------------------------------------------------------------------


def _review_context(request: HttpRequest, source=None) -> dict:
    source = source if source is not None else request.GET
    mode = "grid" if source.get("mode") == "grid" else "one"
    items = selectors.review_queue(user=request.user, faces_per_person=REVIEW_GRID_PER_PERSON if mode == "grid" else 24)
    prefetch_related_objects([item.person for item in items], "cover_face")
    queue = [(item, face) for item in items for face in item.faces]
    try:
        position = max(0, int(source.get("i", 0)))
    except (TypeError, ValueError):
        position = 0
    position = min(position, max(len(queue) - 1, 0))
    current = queue[position] if queue else None
    return {
        "mode": mode,
        "items": items,
        "remaining": sum(item.count for item in items),
        "current_item": current[0] if current else None,
        "current_face": current[1] if current else None,
        "position": position,
        "has_prev": position > 0,
        "has_next": position + 1 < len(queue),
    }


@require_GET
@login_required
def review(request: HttpRequest) -> HttpResponse:
    context = _review_context(request)
    if request.htmx.target == "review-card":
        return render(request, "faces/review.html#card", context)
    return render(request, "faces/review.html", context)


# Photos by people --------------------------------------------------------------------------


@require_GET
@login_required
def photo_filter(request: HttpRequest) -> HttpResponse:
    names = _person_names(request.user)
    form = PhotoFilterForm(request.GET or None, person_choices=[(str(pid), name) for pid, name in names])
    context = {"form": form, "photos": None, "next_cursor": None, "query": ""}
    if form.is_valid() and form.cleaned_data["person"]:
        data = form.cleaned_data
        with _owned():
            photos = selectors.persons_for_photo_filter(
                user=request.user,
                person_ids=data["person"],
                mode=data["mode"],
                date_from=data["date_from"],
                date_to=data["date_to"],
            )
        after = decode_cursor(request.GET.get("after"))
        if after:
            photos = photos.filter(Q(taken_at__lt=after[0]) | Q(taken_at=after[0], id__lt=after[1]))
        page = list(photos[: selectors.PAGE_SIZE + 1])
        if len(page) > selectors.PAGE_SIZE:
            last = page[selectors.PAGE_SIZE - 1]
            context["next_cursor"] = encode_cursor(last.taken_at, last.id)
        context["photos"] = page[: selectors.PAGE_SIZE]
        query = request.GET.copy()
        query.pop("after", None)
        context["query"] = query.urlencode()
        if request.htmx and after:
            return render(request, "faces/photo_filter.html#photo-page", context)
    return render(request, "faces/photo_filter.html", context)
