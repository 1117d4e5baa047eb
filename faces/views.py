"""People pages: persons, unnamed groups, the review queue, face actions and the people filter.

Thin views over faces.selectors (reads) and faces.services (writes). Every object is reached
through one of the owner-scoped helpers below or through a service/selector that loads it with
`for_user` (both sides of every relation); an id that is not the user's is a 404, the same as
one that does not exist. Each page is one template whose swappable regions are partials: on an
htmx request the same view answers with just the region (django-htmx + template-partials).
Without JavaScript every form still works: POST, then a redirect back with a message.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from faces import selectors, services
from faces.forms import (
    BirthDateForm,
    CoverForm,
    DrawFaceForm,
    MergeForm,
    NotThisPersonForm,
    PhotoFilterForm,
    RenameForm,
    WhoForm,
    list_offset,
    name_query,
    page_url,
)
from faces.models import Face, FaceGroup, Person
from faces.responses import done, done_elsewhere, error_text, failed, next_url, owned, pop_undo, toast
from gallery.models import Photo
from gallery.selectors import canonical_cursor
from smartgallery.fragments import library_fragment

# Named persons drawn a page at a time ("Show more people" for the next).
PEOPLE_PAGE = 60
# Group cards a page at a time too ("Show more groups"): each is a few forms and 6 faces.
GROUPS_SHOWN = 12
GROUP_SAMPLES = 6
GROUP_PAGE_FACES = 120
REVIEW_GRID_PER_PERSON = 24
# The grid shows persons a page at a time ("Load more"): about this many tiles a page.
REVIEW_GRID_PAGE_FACES = 60
# The one-at-a-time queue asks about this many of each person's suggestions.
REVIEW_FACES_PER_PERSON = 24
# Faces shown of a group that asks "Are these N faces Anna?" (the review queue, the grid).
QUESTION_SAMPLES = 8
PERSON_SUGGESTIONS_SHOWN = 24
OUTLIERS_PAGE = 60


# Access helpers: the only way these views reach a user's objects ---------------------------


def _get_person(request: HttpRequest, person_id: int) -> Person:
    return get_object_or_404(Person.objects.for_user(request.user).select_related("cover_face"), pk=person_id)


def _get_face(request: HttpRequest, face_id: int) -> Face:
    return get_object_or_404(Face.objects.for_user(request.user).select_related("person", "photo"), pk=face_id)


def _get_group(request: HttpRequest, group_id: int) -> FaceGroup:
    return get_object_or_404(FaceGroup.objects.for_user(request.user), pk=group_id)


def _get_photo(request: HttpRequest, photo_id: int) -> Photo:
    return get_object_or_404(Photo.objects.for_user(request.user), pk=photo_id)


# Undo ----------------------------------------------------------------------------------------


@login_required
@require_POST
def undo(request: HttpRequest, token: str) -> HttpResponse:
    change = pop_undo(request, token)
    if change is None:
        raise Http404("Nothing to undo")
    with owned():
        services.labels_undo(user=request.user, change=change)
    messages.success(request, "Undone.")
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(next_url(request, reverse("faces:people")))


# People page -------------------------------------------------------------------------------


def _people_context(request: HttpRequest) -> dict:
    sort = "name" if request.GET.get("sort") == "name" else "count"
    show_hidden = request.GET.get("hidden") == "1"
    query = name_query(request.GET)
    offset = list_offset(request.GET, "offset")
    hidden_offset = list_offset(request.GET, "hidden_offset") if show_hidden else None
    lists = selectors.people_lists(
        user=request.user, order=sort, query=query, offset=offset, hidden_offset=hidden_offset, limit=PEOPLE_PAGE
    )
    params = {"sort": sort, **({"hidden": "1"} if show_hidden else {}), **({"q": query} if query else {})}
    base = reverse("faces:people")
    return {
        "sort": sort,
        "show_hidden": show_hidden,
        "q": query,
        "offset": offset,
        "persons": lists.shown.persons,
        "persons_total": lists.shown.total,
        "page_end": offset + len(lists.shown.persons),
        "hidden_persons": lists.hidden.persons,
        "hidden_total": lists.hidden.total,
        "more_url": page_url(base, params, offset=lists.shown.next_offset),
        "hidden_more_url": page_url(base, {**params, "offset": offset}, hidden_offset=lists.hidden.next_offset),
        "first_url": page_url(base, params),
        # Every name, for the group forms' <datalist>: read with the lists, no query of its own.
        "person_names": lists.names,
    }


def _groups_context(request: HttpRequest) -> dict:
    """A page of the unnamed groups' cards, largest first, and the link to the next page."""
    offset = list_offset(request.GET, "groups_offset")
    groups = selectors.group_list_with_samples(
        user=request.user, offset=offset, limit=GROUPS_SHOWN + 1, samples=GROUP_SAMPLES
    )
    more = offset + GROUPS_SHOWN if len(groups) > GROUPS_SHOWN else None
    return {
        "groups": groups[:GROUPS_SHOWN],
        "groups_more_url": page_url(reverse("faces:people"), {}, groups_offset=more),
    }


@login_required
@require_safe
def people(request: HttpRequest) -> HttpResponse:
    """Named persons a page at a time ("Show more people" swaps itself for the next rows; a plain
    link without JavaScript), the unnamed groups and the count of unnamed faces in none.

    All of it is the library's and the parameters': kept rendered until the library changes
    (smartgallery.fragments), so a request that changes nothing reads no person, group or face."""
    partial = PEOPLE_PARTIALS.get(request.htmx.target) if request.htmx else None
    html = library_fragment(
        request,
        _people_key(request, partial or "page"),
        f"faces/people.html#{partial or 'page'}",
        lambda: _people_page_context(request, partial),
    )
    if partial:
        return HttpResponse(html)
    return render(request, "faces/people.html", {"people_html": html})


# The regions of the People page that htmx asks for by their id, and the partial that draws each.
PEOPLE_PARTIALS = {
    "groups-more": "group-cards",
    "people-more": "person-rows",
    "hidden-people-more": "hidden-person-rows",
    "people-list": "people-list",
    "groups": "groups",
}


def _people_key(request: HttpRequest, partial: str) -> str | None:
    """Everything of the request that the People page's HTML depends on besides the library
    (None for a search by name: its results are not kept)."""
    params = request.GET
    if name_query(params):
        return None
    hidden = params.get("hidden") == "1"
    return repr(
        (
            "people",
            partial,
            "name" if params.get("sort") == "name" else "count",
            hidden,
            list_offset(params, "offset"),
            list_offset(params, "hidden_offset") if hidden else None,
            list_offset(params, "groups_offset"),
        )
    )


def _people_page_context(request: HttpRequest, partial: str | None) -> dict:
    if partial == "group-cards":
        return _groups_context(request)
    context = _people_context(request)
    if partial in ("person-rows", "hidden-person-rows", "people-list"):
        return context
    context.update(_groups_context(request))
    context["unnamed_count"] = selectors.unnamed_face_count(user=request.user)
    # Called by the template only for the empty page (a query saved on every other one).
    context["has_photos"] = request.user.photos.exists
    return context


@login_required
@require_safe
def unnamed(request: HttpRequest) -> HttpResponse:
    """Recognisable unknown faces that are in no group on the People page, the best first:
    each one opens the face dialog to be named ("Load more" appends the next page). Kept
    rendered until the library changes (smartgallery.fragments)."""
    partial = "face-page" if request.htmx and request.GET.get("after") else None
    cursor = selectors.canonical_face_cursor(request.GET.get("after"))
    html = library_fragment(
        request,
        repr(("unnamed", partial or "page", cursor)),
        f"faces/unnamed.html#{partial or 'page'}",
        lambda: _unnamed_context(request, partial),
    )
    if partial:
        return HttpResponse(html)
    return render(request, "faces/unnamed.html", {"unnamed_html": html})


def _unnamed_context(request: HttpRequest, partial: str | None) -> dict:
    context = {"page": selectors.unnamed_faces_page(user=request.user, cursor=request.GET.get("after"))}
    if not partial:
        context["total"] = selectors.unnamed_face_count(user=request.user)
    return context


# Unnamed groups ----------------------------------------------------------------------------


@login_required
@require_safe
def group(request: HttpRequest, group_id: int) -> HttpResponse:
    """All the faces of an unnamed group, a page at a time ("Load more" adds the next page into
    the same form, so a selection can span pages). Kept rendered until the library changes
    (smartgallery.fragments)."""
    group = _get_group(request, group_id)
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    partial = "face-page" if request.htmx and offset else None
    html = library_fragment(
        request,
        repr(("group", group.id, partial or "page", offset)) if offset <= KEPT_OFFSETS else None,
        f"faces/group.html#{partial or 'page'}",
        lambda: _group_context(request, group, offset, partial),
    )
    if partial:
        return HttpResponse(html)
    return render(request, "faces/group.html", {"group_html": html})


# Beyond any offset the pages link to: such a page is drawn, not kept (one kept page per number
# a client sends would fill the cache for nothing).
KEPT_OFFSETS = 100_000


def _group_context(request: HttpRequest, group: FaceGroup, offset: int, partial: str | None) -> dict:
    with owned():
        page = selectors.group_faces_page(user=request.user, group_id=group.id, offset=offset, limit=GROUP_PAGE_FACES)
    context = {"group": group, "page": page, "page_offset": offset, "form": WhoForm(user=request.user)}
    if not partial:
        context["person_names"] = selectors.person_names(user=request.user)
    return context


def _picked_faces(request: HttpRequest) -> list[int]:
    try:
        return [int(f) for f in request.POST.getlist("face")]
    except ValueError:
        raise Http404("Not found") from None


@login_required
@require_POST
def group_name(request: HttpRequest, group_id: int) -> HttpResponse:
    """Name the whole group (`all`) or the faces picked from it (`face`, repeated)."""
    group = _get_group(request, group_id)
    back = reverse("faces:group", args=[group.id])
    form = WhoForm(request.POST, user=request.user)
    if not form.is_valid():
        return failed(request, " ".join(form.non_field_errors()) or "Type a name.", redirect_to=back)
    face_ids = _picked_faces(request)
    if not face_ids and not request.POST.get("all"):
        return failed(request, "Pick at least one face.", redirect_to=back)
    try:
        with owned():
            if face_ids:
                change = services.group_name_partial(
                    user=request.user, group_id=group.id, face_ids=face_ids, **form.target()
                )
            else:
                change = services.group_name(user=request.user, group_id=group.id, **form.target())
    except ValidationError as exc:
        return failed(request, error_text(exc), redirect_to=back)
    listed = selectors.group_is_listed(user=request.user, group_id=group.id)
    return _group_answered(
        request, _named_message(change, group.id), change, redirect_to=back if listed else reverse("faces:people")
    )


def _named_message(change: services.LabelsChange, group_id: int) -> str:
    name = change.named_person_name  # not loaded again: the person may be deleted by now
    named = sum(1 for snap in change.faces if snap.group_id == group_id and snap.state == Face.State.UNKNOWN)
    message = f"Named {named} face{'s' if named != 1 else ''} {name}."
    if change.skipped_face_ids:
        message += (
            f" {len(change.skipped_face_ids)} left unknown: rejected for {name} before,"
            " or their photo already has them."
        )
    return message


def _group_region(request: HttpRequest) -> str:
    """The review region an action on a whole group came from, redrawn: the card moves on, a
    grid section goes (the counts out of band). "" elsewhere: the People page and the group
    page redraw themselves on the facesChanged event."""
    region = _face_region(request)
    if region == "review-card":
        return render_to_string(
            "faces/review.html#card", _review_context(request, source=request.POST), request=request
        )
    if region == "review-group":
        context = _review_context(request, source={"mode": "grid"}, with_items=False)
        return render_to_string("faces/review.html#grid-answered", context, request=request)
    return ""


def _group_answered(
    request: HttpRequest, message: str, change: services.LabelsChange, *, redirect_to: str
) -> HttpResponse:
    return done(request, message, change=change, html=_group_region(request), redirect_to=redirect_to)


def _group_question_failed(request: HttpRequest, message: str) -> HttpResponse:
    """The question went meanwhile (answered in another tab, or the group changed): in the
    review queue the region shows what is asked now, with the reason in the toast."""
    html = _group_region(request)
    if html:
        return HttpResponse(html + toast(request, message, error=True))
    return failed(request, message, redirect_to=reverse("faces:people"))


@login_required
@require_POST
def group_question_confirm(request: HttpRequest, group_id: int) -> HttpResponse:
    """Yes to "Are these N faces Anna?": the group is named for Anna."""
    group = _get_group(request, group_id)
    try:
        with owned():
            change = services.group_question_confirm(user=request.user, group_id=group.id)
    except ValidationError as exc:
        return _group_question_failed(request, error_text(exc))
    return _group_answered(request, _named_message(change, group.id), change, redirect_to=reverse("faces:people"))


@login_required
@require_POST
def group_question_reject(request: HttpRequest, group_id: int) -> HttpResponse:
    """No to "Are these N faces Anna?": remembered for each face; the group stays to be named."""
    group = _get_group(request, group_id)
    with owned():
        asked = selectors.group_question_person(user=request.user, group_id=group.id)
    try:
        with owned():
            change = services.group_question_reject(user=request.user, group_id=group.id)
    except ValidationError as exc:
        return _group_question_failed(request, error_text(exc))
    message = f"Not {asked.name if asked else 'them'}: remembered. The faces stay together, to be named."
    return _group_answered(request, message, change, redirect_to=reverse("faces:people"))


@login_required
@require_POST
def group_remove(request: HttpRequest, group_id: int) -> HttpResponse:
    """Take the picked faces (`face`, repeated) out of the group: not the same person."""
    group = _get_group(request, group_id)
    back = reverse("faces:group", args=[group.id])
    face_ids = _picked_faces(request)
    if not face_ids:
        return failed(request, "Pick the faces to take out of the group.", redirect_to=back)
    try:
        with owned():
            change = services.group_faces_remove(user=request.user, group_id=group.id, face_ids=face_ids)
    except ValidationError as exc:
        return failed(request, error_text(exc), redirect_to=back)
    count = len(change.faces)
    message = f"Took {count} face{'s' if count != 1 else ''} out of the group; they stay unknown."
    listed = selectors.group_is_listed(user=request.user, group_id=group.id)
    return done(request, message, change=change, redirect_to=back if listed else reverse("faces:people"))


@login_required
@require_POST
def group_dismiss(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _get_group(request, group_id)
    with owned():
        change = services.group_dismiss(user=request.user, group_id=group.id)
    return done(request, "Group dismissed.", change=change, redirect_to=reverse("faces:people"))


# Person page -------------------------------------------------------------------------------


def _heading_context(request: HttpRequest, person: Person, **extra) -> dict:
    return {
        "person": person,
        "stats": selectors.person_stats(user=request.user, person_id=person.id, person=person),
        "rename_form": extra.pop("rename_form", None) or RenameForm(initial={"name": person.name}),
        "birth_form": extra.pop("birth_form", None) or BirthDateForm(initial={"birth_date": person.birth_date}),
        **extra,
    }


def _photo_page(request: HttpRequest, person: Person) -> dict:
    with owned():
        page = selectors.person_photos(
            user=request.user, person_id=person.id, cursor=request.GET.get("after"), person=person
        )
    return {"tiles": page.tiles, "next_cursor": page.next_cursor}


def _suggestions_context(request: HttpRequest, person: Person, total: int | None = None) -> dict:
    with owned():
        suggestions = selectors.person_suggestions(
            user=request.user, person_id=person.id, limit=PERSON_SUGGESTIONS_SHOWN, person=person, total=total
        )
    return {"person": person, "suggestions": suggestions}


@login_required
@require_safe
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    """A person's heading, suggestions and photos a page at a time: kept rendered until the
    library changes (smartgallery.fragments), as the People page."""
    person = _get_person(request, person_id)
    partial = PERSON_PARTIALS.get(request.htmx.target) if request.htmx else None
    if partial is None and request.htmx and "after" in request.GET:
        partial = "photo-page"
    cursor = canonical_cursor(request.GET.get("after")) if partial in (None, "photo-page") else None
    html = library_fragment(
        request,
        repr(("person", person.id, partial or "page", cursor)),
        f"faces/person.html#{partial or 'page'}",
        lambda: _person_context(request, person, partial),
    )
    if partial:
        return HttpResponse(html)
    return render(request, "faces/person.html", {"person": person, "person_html": html})


# The regions of a person's page that htmx asks for by their id, and the partial that draws each.
PERSON_PARTIALS = {"person-heading": "heading", "person-suggestions": "suggestions"}


def _person_context(request: HttpRequest, person: Person, partial: str | None) -> dict:
    if partial == "heading":
        return _heading_context(request, person)
    if partial == "suggestions":
        return _suggestions_context(request, person)
    context = {"person": person, **_photo_page(request, person)}
    if partial == "photo-page":
        return context
    context.update(_heading_context(request, person))
    # The heading has just counted the suggestions: not again.
    context.update(_suggestions_context(request, person, total=context["stats"]["suggested_count"]))
    context["person_names"] = selectors.person_names(user=request.user)  # "Move to" the selection
    return context


@login_required
@require_POST
def person_confirm_suggestions(request: HttpRequest, person_id: int) -> HttpResponse:
    """ "Yes, all N are Anna": every face suggested for the person is confirmed."""
    person = _get_person(request, person_id)
    back = reverse("faces:person", args=[person.id])
    try:
        with owned():
            change = services.person_confirm_suggestions(user=request.user, person_id=person.id)
    except ValidationError as exc:
        return failed(request, error_text(exc), redirect_to=back)
    # The change also holds the photo mates it released (for Undo): count the suggestions.
    count = sum(1 for snap in change.faces if snap.person_id == person.id and snap.state == Face.State.SUGGESTED)
    html = ""
    if _face_region(request) == "person-suggestions":
        html = render_to_string("faces/person.html#suggestions", _suggestions_context(request, person), request=request)
    message = f"Confirmed {count} face{'s' if count != 1 else ''} of {person.name}."
    return done(request, message, change=change, html=html, redirect_to=back)


def _heading_done(request: HttpRequest, person: Person, message: str) -> HttpResponse:
    person.refresh_from_db()
    html = ""
    if request.htmx:
        html = render_to_string("faces/person.html#heading", _heading_context(request, person), request=request)
    response = done(request, message, html=html, redirect_to=reverse("faces:person", args=[person.id]))
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


@login_required
@require_POST
def person_rename(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            with owned():
                services.person_rename(user=request.user, person_id=person.id, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
    if not form.is_valid():
        return _heading_failed(request, person, rename_form=form)
    return _heading_done(request, person, "Renamed.")


@login_required
@require_POST
def person_birth_date(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    form = BirthDateForm(request.POST)
    if form.is_valid():
        try:
            with owned():
                services.person_set_birth_date(
                    user=request.user, person_id=person.id, birth_date=form.cleaned_data["birth_date"]
                )
        except ValidationError as exc:
            form.add_error(None, exc)
    if not form.is_valid():
        return _heading_failed(request, person, birth_form=form)
    return _heading_done(request, person, "Birth date saved.")


@login_required
@require_POST
def person_hide(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    with owned():
        services.person_hide(user=request.user, person_id=person.id)
    return _heading_done(request, person, f"{person.name} is hidden from the people list.")


@login_required
@require_POST
def person_unhide(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    with owned():
        services.person_unhide(user=request.user, person_id=person.id)
    return _heading_done(request, person, f"{person.name} is shown in the people list again.")


@login_required
@require_POST
def person_cover(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    back = reverse("faces:person", args=[person.id])
    form = CoverForm(request.POST)
    if not form.is_valid():
        return failed(request, "Pick one of this person's faces.", redirect_to=back)
    face_id = form.cleaned_data["face"]
    if face_id is not None:
        _get_face(request, face_id)  # both sides: the face must be the user's too
    try:
        with owned():
            services.person_set_cover(user=request.user, person_id=person.id, face_id=face_id)
    except ValidationError as exc:
        return failed(request, error_text(exc), redirect_to=back)
    return done(request, "Cover updated." if face_id else "The cover is picked automatically again.", redirect_to=back)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def person_merge(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            return failed(
                request, "Pick the person to merge into.", redirect_to=reverse("faces:person_merge", args=[person.id])
            )
        into = _get_person(request, form.cleaned_data["into"])
        try:
            with owned():
                change = services.person_merge(user=request.user, person_id=person.id, into_person_id=into.id)
        except ValidationError as exc:
            return failed(request, error_text(exc), redirect_to=reverse("faces:person_merge", args=[person.id]))
        return done_elsewhere(
            request,
            f"Merged {person.name} into {into.name}.",
            change=change,
            to=reverse("faces:person", args=[into.id]),
        )
    with owned():
        targets = selectors.merge_targets(user=request.user, person_id=person.id)
    return render(
        request, "faces/merge.html", {"person": person, "candidates": targets.candidates, "others": targets.others}
    )


@login_required
@require_POST
def person_delete(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _get_person(request, person_id)
    with owned():
        change = services.person_delete(user=request.user, person_id=person.id)
    return done_elsewhere(
        request, f"Deleted {person.name}; their faces are unknown again.", change=change, to=reverse("faces:people")
    )


# Faces that may not belong to a person ------------------------------------------------------


@login_required
@require_safe
def person_outliers(request: HttpRequest, person_id: int) -> HttpResponse:
    """ "Faces that may not be Anna": her named faces, the least like her other confirmed faces
    first, a page at a time ("Show more faces" adds the next page into the same form, so a
    selection can span pages). It only asks: nothing here moves a face until the user does."""
    person = _get_person(request, person_id)
    offset = list_offset(request.GET)
    with owned():
        page = selectors.person_outliers(user=request.user, person_id=person.id, offset=offset, limit=OUTLIERS_PAGE)
    context = {"person": person, "page": page, "page_offset": offset, "form": WhoForm(user=request.user)}
    if request.htmx and offset:
        return render(request, "faces/person_outliers.html#face-page", context)
    context["person_names"] = selectors.person_names(user=request.user)
    return render(request, "faces/person_outliers.html", context)


def _picked_on_person_page(request: HttpRequest) -> tuple[list[int], list[int]]:
    """The faces picked on a person's page: (photo tiles `face`, suggestions `suggestion`)."""
    try:
        return [int(f) for f in request.POST.getlist("face")], [int(f) for f in request.POST.getlist("suggestion")]
    except ValueError:
        raise Http404("Not found") from None


def _faces_done(
    request: HttpRequest, person: Person, change: services.LabelsChange, message: str, *, tiles_left: list[int]
) -> HttpResponse:
    """The answer to an action on faces picked from a person's page or from "Faces that may not
    be Anna". On the person's page (htmx) the photo tiles of the faces that left her go (out of
    band: `tiles_left` are picked photo tiles, so they are on the page) and her suggestions
    are redrawn; the other page redraws itself from the redirect."""
    if change.skipped_face_ids:
        count = len(change.skipped_face_ids)
        message += f" {count} {'were' if count != 1 else 'was'} no longer {person.name}'s and stayed as they are."
    html = ""
    if _face_region(request) == "person-bulk":
        context = _suggestions_context(request, person)
        context.update(tiles_left=tiles_left, suggestions_oob=True)
        html = render_to_string("faces/person.html#bulk-answered", context, request=request)
    return done(request, message, change=change, html=html, redirect_to=reverse("faces:person", args=[person.id]))


def _person_faces_failed(request: HttpRequest, person: Person, message: str) -> HttpResponse:
    return failed(request, message, redirect_to=reverse("faces:person", args=[person.id]))


def _plural(count: int, word: str = "face") -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


@login_required
@require_POST
def person_faces_move(request: HttpRequest, person_id: int) -> HttpResponse:
    """Move the picked faces (`face` and `suggestion`, repeated) to another person (`person`) or
    a name (`name`): "these are not Anna, they are Ben"."""
    person = _get_person(request, person_id)
    form = WhoForm(request.POST, user=request.user)
    if not form.is_valid():
        return _person_faces_failed(request, person, " ".join(form.non_field_errors()) or "Type a name.")
    tiles, suggestions = _picked_on_person_page(request)
    if not tiles and not suggestions:
        return _person_faces_failed(request, person, "Pick the faces to move.")
    target = form.target()
    try:
        with owned():
            change = services.person_faces_move(
                user=request.user,
                person_id=person.id,
                face_ids=tiles + suggestions,
                to_person_id=target.get("person_id"),
                name=target.get("name"),
            )
    except ValidationError as exc:
        return _person_faces_failed(request, person, error_text(exc))
    moved = sum(1 for snap in change.faces if snap.person_id == person.id)
    name = change.named_person_name  # not loaded again: the person may be deleted by now
    return _faces_done(request, person, change, f"Moved {_plural(moved)} to {name}.", tiles_left=tiles)


@login_required
@require_POST
def person_faces_reject(request: HttpRequest, person_id: int) -> HttpResponse:
    """ "Not <person>" for each picked face (`face` and `suggestion`, repeated)."""
    person = _get_person(request, person_id)
    tiles, suggestions = _picked_on_person_page(request)
    if not tiles and not suggestions:
        return _person_faces_failed(request, person, "Pick the faces that are not this person.")
    try:
        with owned():
            change = services.person_faces_reject(user=request.user, person_id=person.id, face_ids=tiles + suggestions)
    except ValidationError as exc:
        return _person_faces_failed(request, person, error_text(exc))
    count = sum(1 for snap in change.faces if snap.person_id == person.id)
    return _faces_done(request, person, change, f"Not {person.name}: {_plural(count)}, remembered.", tiles_left=tiles)


@login_required
@require_POST
def person_faces_confirm(request: HttpRequest, person_id: int) -> HttpResponse:
    """ "These are Anna": the picked faces that recognition gave her (suggested, or named
    automatically) are confirmed; the ones confirmed already stay as they are."""
    person = _get_person(request, person_id)
    tiles, suggestions = _picked_on_person_page(request)
    if not tiles and not suggestions:
        return _person_faces_failed(request, person, f"Pick the faces that are {person.name}.")
    try:
        with owned():
            change = services.faces_confirm(user=request.user, asked=dict.fromkeys(tiles + suggestions, person.id))
    except ValidationError as exc:
        return _person_faces_failed(request, person, error_text(exc))
    # The change also holds the photo mates it released (for Undo): count the picked faces.
    picked = set(tiles + suggestions)
    count = len({snap.face_id for snap in change.faces if snap.face_id in picked})
    return _faces_done(request, person, change, f"Confirmed {_plural(count)} of {person.name}.", tiles_left=[])


# Face panel and face actions ---------------------------------------------------------------


def _panel_context(request: HttpRequest, face: Face, **extra) -> dict:
    return {
        "face": face,
        "form": extra.pop("form", None) or WhoForm(user=request.user),
        "person_names": selectors.person_names(user=request.user),
        "next": next_url(request, ""),
        **extra,
    }


@login_required
@require_safe
def face(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    context = _panel_context(request, face)
    if request.htmx:
        return render(request, "faces/face.html#panel", context)
    return render(request, "faces/face.html", context)


def _face_region(request: HttpRequest) -> str:
    """Where an htmx action came from: the id of its hx-target less the face or group id
    ("face-panel", "review-card", "review-face", "review-group", "person-tile",
    "person-suggestions"); "" without htmx."""
    if not request.htmx:
        return ""
    return (request.htmx.target or "").rstrip("0123456789").rstrip("-")


def _face_done(request: HttpRequest, face: Face, message: str, change: services.LabelsChange | None) -> HttpResponse:
    """Answer a face action with the region it came from, redrawn."""
    region = _face_region(request)
    html = ""
    if region == "review-card":
        html = render_to_string(
            "faces/review.html#card", _review_context(request, source=request.POST), request=request
        )
    elif region == "review-face":
        # The answered tile goes (the answer replaces it with nothing); the counts are updated
        # out of band, and the person's section goes with their last suggestion.
        context = _review_context(request, source={"mode": "grid"}, with_items=False)
        left = dict(context["counts"]).get(face.person_id)
        answered = {"person": {"id": face.person_id}, "count": left} if left else None
        context.update(answered_item=answered, answered_person_id=face.person_id)
        html = render_to_string("faces/review.html#grid-answered", context, request=request)
    elif region == "face-panel":
        fresh = _get_face(request, face.id)
        context = _panel_context(request, fresh)
        # Opened from the Unnamed faces list: the answered face leaves it (out of band; only
        # there, as htmx reports an out-of-band target missing from the page as an error).
        context["leaves_unnamed"] = (
            context["next"].startswith(reverse("faces:unnamed"))
            and face.state == Face.State.UNKNOWN
            and fresh.state != Face.State.UNKNOWN
        )
        html = render_to_string("faces/face.html#panel", context, request=request)
    elif region == "person-suggestions" and face.person_id:
        # A suggestion answered on the person's page: the block is redrawn with its count and
        # its "Yes, all N" (the person is the one the face was suggested for).
        html = render_to_string(
            "faces/person.html#suggestions",
            _suggestions_context(request, _get_person(request, face.person_id)),
            request=request,
        )
    # "person-tile": the face leaves the person's page; the empty answer removes its tile.
    return done(
        request, message, change=change, html=html, redirect_to=reverse("faces:face", args=[face.id]), repeatable=True
    )


def _face_failed(request: HttpRequest, face: Face, message: str) -> HttpResponse:
    return failed(request, message, redirect_to=reverse("faces:face", args=[face.id]))


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
        with owned():
            change = service(user=request.user, face_id=face.id, **arguments)
    except ValidationError as exc:
        return _face_failed(request, face, error_text(exc))
    return _face_done(request, face, message(), change)


@login_required
@require_POST
def face_assign(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    form = WhoForm(request.POST, user=request.user)
    if not form.is_valid():
        if _face_region(request) == "face-panel":
            return render(request, "faces/face.html#panel", _panel_context(request, face, form=form))
        return _face_failed(request, face, " ".join(form.non_field_errors()) or "Type a name or pick a person.")
    try:
        with owned():
            change = services.face_assign(user=request.user, face_id=face.id, **form.target())
    except ValidationError as exc:
        return _face_failed(request, face, error_text(exc))
    name = change.named_person_name  # not loaded again: the person may be deleted by now
    if face.person_id and face.person_id != change.named_person_id and face.state in services.NAMED_STATES:
        message = f"Moved from {face.person.name} to {name}."
    else:
        message = f"Named {name}."
    return _face_done(request, face, message, change)


@login_required
@require_POST
def face_confirm(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    return _face_action(request, face, services.face_confirm, lambda: f"Confirmed {face.person.name}.")


@login_required
@require_POST
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


@login_required
@require_POST
def face_unassign(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    return _face_action(request, face, services.face_unassign, lambda: f"Removed from {face.person.name}.")


@login_required
@require_POST
def face_not_a_face(request: HttpRequest, face_id: int) -> HttpResponse:
    face = _get_face(request, face_id)
    return _face_action(request, face, services.face_mark_not_a_face, lambda: "Marked as not a face.")


# Draw a face -------------------------------------------------------------------------------

FACE_DRAWN = "faceDrawn"


def _draw_context(request: HttpRequest, photo: Photo, form: DrawFaceForm) -> dict:
    errors = []  # each message once: four missing numbers are one missing box
    for error in [*form.non_field_errors(), *(e for key in form.fields for e in form.errors.get(key, []))]:
        if error not in errors:
            errors.append(error)
    return {"photo": photo, "form": form, "errors": errors, "person_names": selectors.person_names(user=request.user)}


def _box_from_query(request: HttpRequest) -> dict:
    """The box the page drew (?x1=...): numbers only, rounded to a tenth of a pixel."""
    box = {}
    for key in ("x1", "y1", "x2", "y2"):
        try:
            value = float(request.GET.get(key, ""))
        except ValueError:
            continue
        if math.isfinite(value):
            box[key] = round(value, 1)
    return box


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def face_draw(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Add a face the detector missed. The photo page (static/js/draw.js) lets the user drag a
    box, or place one with the keyboard, and loads this form into the face dialog with the box
    in pixels of the original; without JavaScript the same form is a page of its own, where the
    box is typed in pixels."""
    photo = _get_photo(request, photo_id)
    if request.method == "POST":
        form = DrawFaceForm(request.POST)
        if form.is_valid():
            try:
                with owned():
                    _, change = services.face_draw(
                        user=request.user, photo_id=photo.pk, box=form.box(), **form.target()
                    )
            except ValidationError as exc:
                form.add_error(None, error_text(exc))
            else:
                if change is not None:
                    message = f"Face added and named {change.named_person_name}."
                else:
                    message = "Face added as unknown. It is being measured: it is matched to your people in a moment."
                # No Undo: "Not a face" in its panel takes a drawn face away.
                response = done(request, message, redirect_to=reverse("gallery:photo", args=[photo.pk]), undoable=False)
                return trigger_client_event(response, FACE_DRAWN) if request.htmx else response
    else:
        form = DrawFaceForm(initial=_box_from_query(request))
    context = _draw_context(request, photo, form)
    if request.htmx:
        return render(request, "faces/draw.html#panel", context)
    return render(request, "faces/draw.html", context)


# Review queue ------------------------------------------------------------------------------


def _position(source, name: str) -> int:
    try:
        return max(0, int(source.get(name, 0)))
    except (TypeError, ValueError):
        return 0


def _grid_page(counts: list[tuple[int, int]], start: int) -> tuple[list[tuple[int, int]], int | None]:
    """The persons of one grid page from `start` (an index in `counts`): as many as make
    REVIEW_GRID_PAGE_FACES tiles (at least one person), and where the next page starts. Pages,
    not "load more": a bulk answer ("No to all N on this page") is about the faces shown."""
    page, faces = [], 0
    for pid, n in counts[start:]:
        if page and faces >= REVIEW_GRID_PAGE_FACES:
            break
        page.append((pid, n))
        faces += min(n, REVIEW_GRID_PER_PERSON)
    end = start + len(page)
    return page, end if end < len(counts) else None


def _grid_previous(counts: list[tuple[int, int]], start: int) -> int | None:
    """Where the grid page before the one at `start` starts (None on the first page)."""
    if start <= 0:
        return None
    first = 0
    while True:
        _, end = _grid_page(counts, first)
        if end is None or end >= start:
            return first
        first = end


def _review_context(request: HttpRequest, source=None, *, with_items: bool = True) -> dict:
    """The queue: the groups that ask about someone first (one answer settles a whole group),
    then the single faces, the person with the most suggestions first (at most
    REVIEW_FACES_PER_PERSON each). Only what is shown is loaded: the counts per person, then
    the one face of the card, or the persons of one grid page (`from`: where it starts)."""
    source = source if source is not None else request.GET
    mode = "grid" if source.get("mode") == "grid" else "one"
    # The groups' samples are read below for the groups shown (the card shows one at most).
    questions = selectors.group_questions(user=request.user, samples=0)
    counts = selectors.review_counts(user=request.user)
    context = {
        "mode": mode,
        "groups": questions.groups,
        "questions": questions.total,
        "counts": counts,
        "remaining": sum(n for _, n in counts),
    }
    if mode == "grid":
        start = _position(source, "from")
        if start >= len(counts):  # past the end (its people were answered): the last page
            start = _grid_previous(counts, len(counts)) or 0
        page, next_start = _grid_page(counts, start)
        # An answer in the grid redraws only the counts (out of band): no faces needed.
        items = (
            selectors.review_items(user=request.user, counts=page, faces_per_person=REVIEW_GRID_PER_PERSON)
            if with_items
            else []
        )
        # The group questions are on the first page.
        groups = questions.groups if start == 0 else []
        if with_items:
            selectors.with_group_samples(user=request.user, groups=groups, samples=QUESTION_SAMPLES)
        context.update(
            items=items,
            shown=sum(len(item.faces) for item in items),
            grid_from=start,
            grid_prev=_grid_previous(counts, start),
            grid_next=next_start,
            groups=groups,
        )
        return context
    shown = [min(n, REVIEW_FACES_PER_PERSON) for _, n in counts]
    length = len(questions.groups) + sum(shown)
    position = min(_position(source, "i"), max(length - 1, 0))
    current_group = current_item = current_face = None
    if position < len(questions.groups):
        current_group = questions.groups[position]
        selectors.with_group_samples(user=request.user, groups=[current_group], samples=QUESTION_SAMPLES)
    else:
        index = position - len(questions.groups)
        for (pid, n), m in zip(counts, shown, strict=True):
            if index < m:
                current_face = selectors.review_face_at(user=request.user, person_id=pid, index=index)
                if current_face is not None:
                    current_item = selectors.ReviewItem(current_face.person, n, [current_face])
                break
            index -= m
    context.update(
        current_item=current_item,
        current_face=current_face,
        current_group=current_group,
        position=position,
        card_url=f"{reverse('faces:review')}?i={position}",
        has_prev=position > 0,
        has_next=position + 1 < length,
    )
    return context


@login_required
@require_safe
def review(request: HttpRequest) -> HttpResponse:
    """The queue one at a time or as a grid: kept rendered until the library changes
    (smartgallery.fragments), as the People page."""
    partial = REVIEW_PARTIALS.get(request.htmx.target) if request.htmx else None
    html = library_fragment(
        request,
        _review_key(request, partial),
        f"faces/review.html#{partial or 'page'}",
        lambda: _review_page_context(request, partial),
    )
    if partial:
        return HttpResponse(html)
    return render(request, "faces/review.html", {"review_html": html})


# The regions of the review page that htmx asks for by their id, and the partial that draws each.
REVIEW_PARTIALS = {"review-card": "card", "review-grid": "grid"}


def _review_key(request: HttpRequest, partial: str | None) -> str | None:
    mode = "grid" if request.GET.get("mode") == "grid" else "one"
    position = _position(request.GET, "from" if mode == "grid" else "i")
    if position > KEPT_OFFSETS:
        return None
    return repr(("review", partial or "page", mode, position))


def _review_page_context(request: HttpRequest, partial: str | None) -> dict:
    context = _review_context(request)
    if partial:
        return context
    # The names offered in "Someone else?" under a group question and in the grid's "These are"
    # (nothing asked: not needed).
    asks_names = context["questions"] or (context["mode"] == "grid" and context["items"])
    context["person_names"] = selectors.person_names(user=request.user) if asks_names else []
    return context


def _review_grid_answered(request: HttpRequest, message: str, change: services.LabelsChange) -> HttpResponse:
    """An answer to a selection in the review grid: the grid redrawn (its target), with the toast."""
    if change.skipped_face_ids:
        count = len(change.skipped_face_ids)
        message += f" {_plural(count)} had been answered in the meantime and stayed as they are."
    html = ""
    if _face_region(request) == "review-grid":
        source = {"mode": "grid", "from": request.POST.get("from", 0)}
        html = render_to_string("faces/review.html#grid", _review_context(request, source=source), request=request)
    return done(request, message, change=change, html=html, redirect_to=_review_grid_url())


def _review_grid_url() -> str:
    return reverse("faces:review") + "?mode=grid"


def _review_failed(request: HttpRequest, message: str) -> HttpResponse:
    return failed(request, message, redirect_to=_review_grid_url())


def _asked_on_grid(request: HttpRequest) -> dict[int, int] | None:
    """The grid's questions (`asked`, "<face id>:<person id>" for every face on it), or None
    when one cannot be read."""
    asked = {}
    for value in request.POST.getlist("asked"):
        face_id, _, person_id = value.partition(":")
        if not (face_id.isdecimal() and person_id.isdecimal()):
            return None
        asked[int(face_id)] = int(person_id)
    return asked


SELECTION_UNREADABLE = "That selection could not be read; reload the page and try again."


def _picked_on_grid(request: HttpRequest, *, every: bool = False) -> dict[int, int] | str:
    """The picked faces of the grid, each with the person it was asked about (all of the
    grid's with `every`); a message saying what is wrong otherwise."""
    asked = _asked_on_grid(request)
    if asked is None:
        return SELECTION_UNREADABLE
    if every:
        return asked or "There are no suggestions on this page any more."
    picked = _picked_faces(request)
    if not picked:
        return "Pick the faces first."
    if any(face_id not in asked for face_id in picked):
        return SELECTION_UNREADABLE
    return {face_id: asked[face_id] for face_id in picked}


@login_required
@require_POST
def review_confirm(request: HttpRequest) -> HttpResponse:
    """ "Yes to selected" in the review grid: each picked face is its suggested person."""
    picked = _picked_on_grid(request)
    if isinstance(picked, str):
        return _review_failed(request, picked)
    try:
        with owned():
            change = services.faces_confirm(user=request.user, asked=picked)
    except ValidationError as exc:
        return _review_failed(request, error_text(exc))
    count = len({snap.face_id for snap in change.faces if snap.face_id in picked})
    whom = f" of {change.named_person_name}" if change.named_person_id else ""
    return _review_grid_answered(request, f"Confirmed {_plural(count)}{whom}.", change)


@login_required
@require_POST
def review_reject(request: HttpRequest) -> HttpResponse:
    """ "No to selected", or with `all` "No to all" (every suggestion on the grid)."""
    picked = _picked_on_grid(request, every=bool(request.POST.get("all")))
    if isinstance(picked, str):
        return _review_failed(request, picked)
    try:
        with owned():
            change = services.faces_reject(user=request.user, asked=picked)
    except ValidationError as exc:
        return _review_failed(request, error_text(exc))
    count = len({snap.face_id for snap in change.faces if snap.face_id in picked})
    return _review_grid_answered(request, f"No to {_plural(count, 'suggestion')}: remembered.", change)


@login_required
@require_POST
def review_name(request: HttpRequest) -> HttpResponse:
    """ "These are …": the picked faces named for the person typed (or a new one)."""
    form = WhoForm(request.POST, user=request.user)
    if not form.is_valid():
        return _review_failed(request, " ".join(form.non_field_errors()) or "Type a name.")
    picked = _picked_on_grid(request)
    if isinstance(picked, str):
        return _review_failed(request, picked)
    try:
        with owned():
            change = services.faces_assign(user=request.user, face_ids=list(picked), **form.target())
    except ValidationError as exc:
        return _review_failed(request, error_text(exc))
    name = change.named_person_name  # not loaded again: the person may be deleted by now
    count = len({snap.face_id for snap in change.faces if snap.face_id in picked})
    return _review_grid_answered(request, f"Named {_plural(count)} {name}.", change)


# Photos by people --------------------------------------------------------------------------


@login_required
@require_safe
def photo_filter(request: HttpRequest) -> HttpResponse:
    """Photos of the picked people. "Find a person" (`q`) narrows the list of people to pick
    from (as you type, with htmx: just that list); the people already picked stay in it."""
    if request.htmx.target == "person-picks":
        return render(
            request,
            "faces/_photo_filter_form.html#person-picks",
            {"form": _photo_filter_form(request), "q": name_query(request.GET)},
        )
    # "Load more" of a result: just the next page's photos.
    partial = bool(request.htmx and request.GET.get("after") and request.GET.getlist("person"))
    template = "faces/_photo_filter_results.html#photo-page" if partial else "faces/photo_filter.html#page"
    try:
        html = library_fragment(
            request,
            _photo_filter_key(request),
            template,
            lambda: _photo_filter_context(request, _photo_filter_form(request)),
        )
    except Http404:
        # A saved link whose person was deleted or merged since (or another user's id: the
        # same answer, which tells nothing about them).
        context = {
            "message": "A person in this link is not among your people any more: they may have been deleted or merged.",
            "back": reverse("faces:photo_filter"),
            "back_label": "Choose people again",
        }
        return render(request, "404.html", context, status=404)
    if partial:
        return HttpResponse(html)
    return render(request, "faces/photo_filter.html", {"filter_html": html})


def _photo_filter_form(request: HttpRequest) -> PhotoFilterForm:
    """The form as sent, offering the people whose name has `q` in it and those already picked."""
    picked = [int(pid) for pid in request.GET.getlist("person") if pid.isdecimal()]
    names = selectors.person_names(user=request.user, query=name_query(request.GET), keep=picked)
    return PhotoFilterForm(request.GET or None, person_choices=[(str(pid), name) for pid, name in names])


def _photo_filter_key(request: HttpRequest) -> str | None:
    """The form's fields as sent (the page shows them back, with any errors) and the canonical
    cursor; None for a search by name (drawn, not kept)."""
    params = request.GET
    if name_query(params):
        return None
    fields = tuple(tuple(params.getlist(name)) for name in ("person", "mode", "date_from", "date_to"))
    return repr(("photo_filter", fields, canonical_cursor(params.get("after"))))


def _photo_filter_context(request: HttpRequest, form: PhotoFilterForm) -> dict:
    context = {"form": form, "photos": None, "next_cursor": None, "query": "", "q": name_query(request.GET)}
    if form.is_valid() and form.cleaned_data["person"]:
        data = form.cleaned_data
        with owned():
            page = selectors.persons_for_photo_filter(
                user=request.user,
                person_ids=data["person"],
                mode=data["mode"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                cursor=request.GET.get("after"),
            )
        query = request.GET.copy()
        query.pop("after", None)
        context.update(photos=page.photos, next_cursor=page.next_cursor, query=query.urlencode())
    return context
