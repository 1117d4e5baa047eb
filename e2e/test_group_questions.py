"""Group questions and unnamed faces (issue 13, items 2 and 4), with the real models and worker:
a group that looks like someone is asked about once and named in one click, naming it leaves
the other groups as they were, and a face rejected for someone turns up again in a group or
on the Unnamed faces page, where it can be named."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import (
    add_photos,
    assert_accessible,
    log_in,
    wait_grouped,
    wait_processed,
    wait_until,
    watch_console,
)
from faces import services
from faces.models import Face, FaceGroup
from faces.selectors import group_questions
from faces.tasks import _flag

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

# Of the shared people, the one whose faces vary most (ages, looks): after one face is named,
# recognition names the faces of her it is sure of and some stay groups asked about her.
# (For the others, naming one face names nearly all of them automatically.)
BEN = "Madonna"


def refreshes(worker, owner) -> int:
    """How many people refreshes (re-match, regroup, questions) the worker finished for `owner`."""
    return worker.log_text().count(f"Refreshed the people of user {owner.pk}:")


def wait_refreshed(worker, owner, *, after: int, timeout: float = 90) -> None:
    """Until a refresh finished after the first `after` ones and none is pending."""

    def settled() -> bool:
        pending = cache.get(_flag("index-rebuild", owner.pk)) or cache.get(_flag("regroup", owner.pk))
        return not pending and refreshes(worker, owner) > after

    wait_until(settled, timeout=timeout, interval=0.5, message=lambda: worker.log_text()[-3000:])


def unknown_faces(group_id: int) -> set[int]:
    return set(Face.objects.filter(group_id=group_id, state=Face.State.UNKNOWN).values_list("id", flat=True))


def test_a_group_question_a_clean_group_and_a_rejected_face(
    page: Page, live_server, celery_worker_process, faces_dir, screenshots
):
    worker = celery_worker_process
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    ben_photos = add_photos(alice, sorted((faces_dir / "Madonna").glob("*.jpg"))[:12])
    add_photos(alice, sorted((faces_dir / "Tony_Blair").glob("*.jpg"))[:5])
    wait_processed(alice, worker)
    wait_grouped(alice, faces=5)

    # Alice names the face on the first photo. Recognition names the faces of her it is sure
    # of; others, alike among themselves, stay groups asked about as a whole.
    done = refreshes(worker, alice)
    first = Face.objects.filter(photo=ben_photos[0]).order_by("-size_px", "id").first()
    ben = services.face_assign(user=alice, face_id=first.id, name=BEN).person_created
    wait_refreshed(worker, alice, after=done)
    questions = group_questions(user=alice)
    assert questions.total >= 1 and all(g.suggested_person_id == ben for g in questions.groups)
    asked = questions.groups[0]  # the review queue asks the largest first
    asked_faces = unknown_faces(asked.id)
    assert len(asked_faces) >= 2
    others = {
        g.id: unknown_faces(g.id)
        for g in FaceGroup.objects.filter(owner=alice, dismissed=False, suggested_person__isnull=True)
    }
    clean = [group_id for group_id, faces in others.items() if len(faces) >= 4]
    assert clean, f"Tony Blair's faces are in no group: {others}"

    errors = watch_console(page)
    log_in(page, live_server.url, alice)

    # The People page asks on the group's card.
    page.goto(f"{live_server.url}/people/")
    card = page.locator(f"#group-{asked.pk}")
    question = f"Are these {len(asked_faces)} faces {BEN}?"
    expect(card).to_contain_text(question)
    expect(card.get_by_label("Someone else? Their name")).to_be_visible()
    assert_accessible(page, "people, a group question")
    screenshots(page, "people-question", show=page.locator("#groups"))

    # The review queue asks it first, with its counter; one click names the whole group.
    page.goto(f"{live_server.url}/people/review/")
    review = page.locator("#review-card")
    expect(review.get_by_role("heading", name=question)).to_be_visible()
    left = questions.total
    expect(review).to_contain_text(f"{left} question{'s' if left > 1 else ''} left")
    assert_accessible(page, "review, a group question")
    screenshots(page, "review-question")
    done = refreshes(worker, alice)
    review.get_by_role("button", name=f"Yes, these are {BEN}").click()
    expect(page.locator("#messages .toast", has_text=f"Named {len(asked_faces)} faces {BEN}.")).to_be_visible()
    if left == 1:
        expect(review).not_to_contain_text(question)
        expect(review).not_to_contain_text("question left")
    else:
        expect(review).to_contain_text(f"{left - 1} question{'s' if left > 2 else ''} left")
    named = Face.objects.filter(pk__in=asked_faces, person_id=ben, state=Face.State.CONFIRMED).count()
    assert named == len(asked_faces)

    # The refresh after that naming leaves the other groups as they were: same ids, same faces.
    wait_refreshed(worker, alice, after=done)
    for group_id in clean:
        assert unknown_faces(group_id) == others[group_id], f"group {group_id} changed"
    page.goto(f"{live_server.url}/people/")
    expect(page.locator(f"#group-{asked.pk}")).to_have_count(0)
    for group_id in clean:
        expect(page.locator(f"#group-{group_id}")).to_contain_text(f"{len(others[group_id])} faces")

    # "Not Madonna" on one of her recognised photos: the face is unknown again, and after the
    # worker's refresh it is found in a group or among the unnamed faces, to be named.
    recognised = Face.objects.filter(person_id=ben, state=Face.State.AUTO).order_by("-size_px", "id").first()
    assert recognised is not None, "recognition named none of her other faces"
    done = refreshes(worker, alice)
    page.goto(f"{live_server.url}/people/{ben}/")
    tile = page.locator(f"#person-tile-{recognised.pk}")
    tile.get_by_role("button", name=re.compile(f"^Not {BEN}")).click()
    expect(tile).to_have_count(0)
    wait_refreshed(worker, alice, after=done)
    recognised.refresh_from_db()
    assert recognised.state == Face.State.UNKNOWN
    listed = FaceGroup.objects.filter(pk=recognised.group_id, dismissed=False).exists()
    if listed:
        page.goto(f"{live_server.url}/people/groups/{recognised.group_id}/")
        expect(page.locator(f"#pick-{recognised.pk}")).to_have_count(1)
    page.goto(f"{live_server.url}/people/")
    link = page.get_by_role("link", name=re.compile(r"^\d+ unnamed faces? in no group$"))
    link.click()
    expect(page.get_by_role("heading", name="Unnamed faces")).to_be_visible()
    tiles = page.locator("#unnamed-faces li.tile")
    if not listed:
        expect(page.locator(f"#unnamed-face-{recognised.pk}")).to_have_count(1)
    assert_accessible(page, "unnamed faces")
    screenshots(page, "unnamed")

    # Any face there is named in the face dialog, and leaves the list.
    count = tiles.count()
    assert count >= 1
    face_id = int(tiles.first.get_attribute("id").rsplit("-", 1)[1])
    tiles.first.get_by_role("link", name="Who is this?").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Who is this?")).to_be_focused()
    dialog.get_by_label("Who is this?").fill("Someone New")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("heading", name="Someone New")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(f"#unnamed-face-{face_id}")).to_have_count(0)
    expect(tiles).to_have_count(count - 1)
    assert Face.objects.get(pk=face_id).state == Face.State.CONFIRMED
    assert errors == [], errors
