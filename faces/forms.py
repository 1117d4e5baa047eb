"""Forms of the people pages. They only parse and validate input: every id they return is
loaded again by the owner-scoped service or selector the view calls (404 for foreign ids)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import mark_safe  # unsafe-ok: person_picks, each value escaped

from smartgallery.markup import esc
from smartgallery.text import strip_invisible

NAME_QUERY_MAX = 200  # a person's name is at most 200 characters


def name_query(params) -> str:
    """What "Find a person" looks for (`q` of a GET), trimmed; longer than a name is cut."""
    return params.get("q", "").strip()[:NAME_QUERY_MAX]


def list_offset(params, name: str = "offset") -> int:
    """Where a paged list starts (`name` of a GET): a missing, negative or non-number value is the
    start; a huge one is past the end (an empty last page), never an error."""
    try:
        return max(0, int(params.get(name, 0)))
    except ValueError:
        return 0


def page_url(base: str, params: dict, **page: int | None) -> str | None:
    """A paged list's URL with its own parameters (sort, search...) at `page`'s offset; None when
    that offset is None (no next page)."""
    if any(value is None for value in page.values()):
        return None
    query = urlencode({**params, **page})
    return f"{base}?{query}" if query else base


class WhoForm(forms.Form):
    """Who is this: an existing person (picked from the list) or a name.

    A typed name is resolved by the service (faces.services._person_or_new): one of the
    user's persons with that name (case-insensitive) means that person, so the <datalist>
    autocomplete, which can only fill in names, never creates a duplicate of someone who
    exists; nobody of that name means a new person.
    """

    person = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    name = forms.CharField(required=False, max_length=200, label="Name")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        name = " ".join((data.get("name") or "").split())
        if data.get("person"):
            data["person_id"], data["new_name"] = data["person"], None
            return data
        if not name:
            raise ValidationError("Type a name or pick a person.")
        data["person_id"], data["new_name"] = None, name
        return data

    def target(self) -> dict:
        """Keyword arguments for the services: person_id=... or name=..."""
        if self.cleaned_data["person_id"] is not None:
            return {"person_id": self.cleaned_data["person_id"]}
        return {"name": self.cleaned_data["new_name"]}


def _box_field(side: str) -> forms.FloatField:
    return forms.FloatField(
        label=side,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0"}),
        error_messages={
            "required": "The box is missing: draw it on the photo again.",
            "invalid": "The box needs four numbers: left, top, right and bottom.",
        },
    )


class DrawFaceForm(forms.Form):
    """A face the user drew: its box (pixels of the upright original: the page converts from
    the preview it shows) and, optionally, who it is (as WhoForm; empty: left unknown). The
    service checks the box against the photo."""

    x1 = _box_field("Left")
    y1 = _box_field("Top")
    x2 = _box_field("Right")
    y2 = _box_field("Bottom")
    person = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    name = forms.CharField(required=False, max_length=200, label="Who is this?")

    def clean_name(self) -> str:
        name = self.cleaned_data.get("name") or ""
        if name and not strip_invisible(name).strip():
            raise ValidationError("That name has no visible letters. Leave it empty to add the face as unknown.")
        return name

    def box(self) -> tuple[float, float, float, float]:
        return tuple(self.cleaned_data[key] for key in ("x1", "y1", "x2", "y2"))

    def target(self) -> dict:
        """Keyword arguments for faces.services.face_draw: person_id=..., name=... or nothing."""
        if self.cleaned_data.get("person"):
            return {"person_id": self.cleaned_data["person"]}
        name = " ".join((self.cleaned_data.get("name") or "").split())
        return {"name": name} if name else {}


class RenameForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")


class BirthDateForm(forms.Form):
    birth_date = forms.DateField(required=False, label="Birth date", widget=forms.DateInput(attrs={"type": "date"}))


class MergeForm(forms.Form):
    into = forms.IntegerField(min_value=1)


class CoverForm(forms.Form):
    face = forms.IntegerField(required=False, min_value=1)


class NotThisPersonForm(forms.Form):
    person = forms.IntegerField(required=False, min_value=1)


# Between two picks, what the template's loop put there (the spaces between inline boxes).
PICK_SEPARATOR = "\n        "


class PhotoFilterForm(forms.Form):
    MODES = [("and", "All of them in the photo"), ("or", "Any of them")]

    person = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="People", widget=forms.CheckboxSelectMultiple
    )
    mode = forms.ChoiceField(choices=MODES, required=False, initial="and", widget=forms.RadioSelect, label="Match")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, person_choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The choices are the user's persons; an id outside them is not rejected here but left
        # to the selector, which answers 404 for another user's id like every other view.
        self.fields["person"].choices = person_choices
        self.fields["person"].valid_value = lambda value: str(value).isdigit()

    def person_picks(self) -> str:
        """Each person's checkbox and label: the tags `{{ option.tag }}` would give, without
        Django's widget templates (0.2 ms each, a minute of CPU a thousand pages with 300
        people), and drawn here rather than by a template loop (300 picks: 3.9 -> 0.7 ms;
        docs/BENCHMARKS.md). "" when there is nobody to pick."""
        field = self["person"]
        picked = {str(value) for value in (field.value() or [])}
        id_ = field.auto_id
        picks = []
        for index, (value, label) in enumerate(self.fields["person"].choices):
            # esc, not format_html: its lazy-string checks took 3 ms for 300 picks.
            pick_id = esc(f"{id_}_{index}") if id_ else ""
            attributes = f' id="{pick_id}"' if id_ else ""
            if str(value) in picked:
                attributes += " checked"
            picks.append(
                f'<span class="pick"><input type="checkbox" name="person" value="{esc(value)}"{attributes}>'
                f'<label for="{pick_id}">{esc(label)}</label></span>'
            )
        # unsafe-ok: every value in the picks went through esc above.
        return mark_safe(PICK_SEPARATOR.join(picks))  # noqa: S308

    def clean(self) -> dict:
        data = super().clean()
        data["mode"] = data.get("mode") or "and"
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("The start date is after the end date.")
        return data
