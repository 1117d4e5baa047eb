"""User text is shown escaped everywhere (catalogue A13, A14).

Filenames, EXIF text, error messages and person names are hostile input. Two guards: nothing
in the code turns autoescaping off (a grep with an allow-list that needs a reason), and the
pages and htmx partials that show such text show it escaped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from smartgallery.tests.test_isolation_matrix import HTMX, body_of
from smartgallery.tests.world import XSS, XSS_ESCAPED, World, make_world

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "node_modules", "staticfiles", "var", ".git", "migrations", "__pycache__"}
TEMPLATE_UNSAFE = re.compile(r"\|\s*safe(seq)?\b|{%\s*autoescape\s+off|{%\s*filter\s+[^%]*\bsafe\b")
PYTHON_UNSAFE = re.compile(r"\bmark_safe\b|\bSafeString\s*\(|\bSafeText\s*\(|\|\s*safe\b|autoescape\s*=\s*False")
# An exception must carry its reason on the same line or the line above:
#   {# unsafe-ok: <why> #}  in a template,  # unsafe-ok: <why>  in Python.
JUSTIFIED = re.compile(r"unsafe-ok:\s*\S{3,}")
EXIF_XSS = '"><svg onload=alert(1)>'
EXIF_XSS_ESCAPED = "&quot;&gt;&lt;svg onload=alert(1)&gt;"


def _files(pattern: str):
    for path in sorted(REPO.rglob(pattern)):
        if not SKIP_DIRS & set(path.relative_to(REPO).parts):
            yield path


def _unjustified(path: Path, pattern: re.Pattern) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines):
        if pattern.search(line) and not (JUSTIFIED.search(line) or (number and JUSTIFIED.search(lines[number - 1]))):
            found.append(f"{path.relative_to(REPO)}:{number + 1}: {line.strip()}")
    return found


def test_no_template_turns_escaping_off():
    templates = [p for p in _files("*.html") if "templates" in p.relative_to(REPO).parts]
    assert len(templates) >= 15, "found almost no templates: the walk is broken"
    found = [hit for path in templates for hit in _unjustified(path, TEMPLATE_UNSAFE)]
    assert not found, "autoescaping turned off without an `unsafe-ok:` reason:\n" + "\n".join(found)


def test_no_python_marks_text_safe():
    # Tests are left out: they name these patterns to look for them.
    sources = [p for p in _files("*.py") if "tests" not in p.relative_to(REPO).parts]
    assert len(sources) >= 30
    found = [hit for path in sources for hit in _unjustified(path, PYTHON_UNSAFE)]
    assert not found, "text marked safe without an `unsafe-ok:` reason:\n" + "\n".join(found)


def test_the_grep_would_catch_the_usual_ways(tmp_path):
    samples = ["{{ name|safe }}", "{{ names|safeseq|join:',' }}", "{% autoescape off %}", "{% filter safe %}"]
    for sample in samples:
        assert TEMPLATE_UNSAFE.search(sample), sample
    assert PYTHON_UNSAFE.search("return mark_safe(f'<b>{name}</b>')")
    assert not TEMPLATE_UNSAFE.search("{{ name|safe_name }}")
    ok = tmp_path / "ok.html"
    ok.write_text("{# unsafe-ok: trusted constant SVG icon #}\n{{ icon|safe }}\n")
    assert _unjustified(ok, TEMPLATE_UNSAFE) == []


# The pages -----------------------------------------------------------------------------------


@pytest.fixture
def hostile(alice) -> World:
    world = make_world(alice, label="Alice", person_name=XSS, other_name=f"{XSS} 2", filename=XSS, camera=EXIF_XSS)
    world.failed_photo.original_filename = f"{XSS}.jpg"
    world.failed_photo.last_error = f"Cannot decode {XSS}"
    world.failed_photo.save()
    return world


def pages(world: World) -> list[tuple[str, str, dict, bool]]:
    """(what, url, headers, must show the text): every page and partial that shows user text.
    Pages that show it only in some states are still checked for the raw tag."""
    person = reverse("faces:person", args=[world.person.id])
    return [
        ("timeline", reverse("gallery:timeline"), {}, True),
        ("timeline grid partial", reverse("gallery:timeline"), HTMX, True),
        ("tile partial", reverse("gallery:tile", args=[world.photo.id]), HTMX, True),
        ("processing partial", reverse("gallery:processing"), HTMX, True),
        ("upload page", reverse("gallery:upload"), {}, True),
        ("photo page", reverse("gallery:photo", args=[world.photo.id]), {}, True),
        ("failed photo page", reverse("gallery:photo", args=[world.failed_photo.id]), {}, True),
        ("people page", reverse("faces:people"), {}, True),
        ("people list partial", reverse("faces:people"), {**HTMX, "HTTP_HX_TARGET": "people-list"}, True),
        ("groups partial", reverse("faces:people"), {**HTMX, "HTTP_HX_TARGET": "groups"}, False),
        ("person page", person, {}, True),
        ("person heading partial", person, {**HTMX, "HTTP_HX_TARGET": "person-heading"}, True),
        ("face page", reverse("faces:face", args=[world.face.id]), {}, True),
        ("face panel partial", reverse("faces:face", args=[world.face.id]), HTMX, True),
        ("group page", reverse("faces:group", args=[world.group.id]), {}, False),
        ("merge page", reverse("faces:person_merge", args=[world.person.id]), {}, True),
        ("review page", reverse("faces:review"), {}, True),
        ("review card partial", reverse("faces:review"), {**HTMX, "HTTP_HX_TARGET": "review-card"}, True),
        ("photo filter", reverse("faces:photo_filter") + f"?person={world.person.id}", {}, True),
    ]


@pytest.mark.django_db
def test_user_text_is_escaped_in_pages_and_partials(hostile, alice_client):
    for what, url, headers, shown in pages(hostile):
        response = alice_client.get(url, **headers)
        # 286 is htmx's "stop polling" (the processing panel when nothing is pending).
        assert response.status_code in (200, 286), f"{what}: {response.status_code}"
        body = body_of(response).decode()
        assert XSS not in body and "<svg onload" not in body, f"{what} shows the raw tag"
        if shown:
            assert XSS_ESCAPED in body, f"{what} does not show the name at all: the check proves nothing"


@pytest.mark.django_db
def test_exif_text_is_escaped_on_the_photo_page(hostile, alice_client):
    body = alice_client.get(reverse("gallery:photo", args=[hostile.photo.id])).content.decode()
    assert EXIF_XSS_ESCAPED in body
    assert EXIF_XSS not in body


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_names_typed_into_forms_come_back_escaped(htmx, alice, alice_client):
    """The toasts and messages of an action repeat the name the user typed."""
    world = make_world(alice, label="Alice")
    headers = HTMX if htmx else {}
    # The face is named from its panel, which is redrawn with the name in it.
    panel = {"HTTP_HX_TARGET": f"face-panel-{world.spare_face.id}"} if htmx else {}
    actions = [
        (reverse("faces:face_assign", args=[world.spare_face.id]), {"name": XSS}, panel),
        (reverse("faces:person_rename", args=[world.person.id]), {"name": f"{XSS} renamed"}, {}),
        (reverse("faces:group_name", args=[world.group.id]), {"name": f"{XSS} group", "all": "1"}, {}),
    ]
    for url, data, target in actions:
        response = alice_client.post(url, data, follow=not htmx, **headers, **target)
        body = body_of(response).decode()
        assert response.status_code == 200, url
        assert XSS not in body, f"{url} answers with the raw tag"
        assert XSS_ESCAPED in body, f"{url} does not repeat the name: the check proves nothing"
