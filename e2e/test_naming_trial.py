"""The naming trial (issue 14): how many clicks and keypresses a user needs to name everyone in
../shared/faces, from an empty library, in the real pages (Chromium, live server, the real
worker and face pack). Long (every photo is processed and every refresh awaited), so it runs
only when asked, through `python -m bench.naming_trial` or:

    SMARTGALLERY_NAMING_TRIAL=1 bash scripts/test.sh e2e/test_naming_trial.py -s

The user knows who everyone is (the folder names) and chooses each step as the simulated user
of `evaluate_recognition --simulate-user` does (faces/simulation.py); this test then does that
step the way a person would, by clicking and typing on the pages, and counts:
- a click for every button, link, checkbox and field clicked;
- a keypress for every character of a typed name and for its Enter (no autocomplete is used,
  so names of people who already exist are typed in full: an upper bound);
- getting to the page of the step: a click on the main navigation (People, Unnamed faces) or
  on a person's card. Between two steps the page is reloaded, uncounted, once the worker's
  refresh has settled, so each step sees what the product proposes at that point.
Prints one JSON line (`naming_trial`) and fails if a face is left wrong or anything was
named automatically to the wrong person.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest
from django.core.cache import cache
from playwright.sync_api import Page

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, log_in, wait_processed, wait_until, watch_console
from faces import evaluation, simulation
from faces.models import Face
from faces.tasks import _flag

PHOTOS = "/photos/"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SMARTGALLERY_NAMING_TRIAL", "") in ("", "0"),
        reason="the naming trial is a benchmark: SMARTGALLERY_NAMING_TRIAL=1 (python -m bench.naming_trial)",
    ),
]


class CountingUser:
    """Clicks and types on the page, and counts it."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.clicks = 0
        self.keys = 0
        self.by_kind: Counter = Counter()
        self.kind = ""

    def click(self, locator) -> None:
        locator.first.click()
        self.clicks += 1
        self.by_kind[self.kind] += 1

    def name(self, field, name: str) -> None:
        self.click(field)
        field.first.press_sequentially(name)
        field.first.press("Enter")
        self.keys += len(name) + 1
        self.by_kind[self.kind] += len(name) + 1

    def on(self, path: str) -> bool:
        return self.page.url.split("?")[0] == self.base + path

    def nav(self, label: str, path: str) -> None:
        """The main navigation's link, unless the page is already open."""
        if not self.on(path):
            self.click(self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True))
            self.page.wait_for_url(self.base + path + "*")

    def person_page(self, person_id: int) -> None:
        path = f"/people/{person_id}/"
        if not self.on(path):
            self.nav("People", "/people/")
            self.click(self.page.locator(f'#people-list a[href="{path}"]'))
            self.page.wait_for_url(self.base + path + "*")


def refreshes(worker, owner) -> int:
    return worker.log_text().count(f"Refreshed the people of user {owner.pk}:")


def settle(worker, owner, *, after: int, timeout: float = 180) -> None:
    """Until the refresh a step scheduled (its label change) finished and none is pending.
    A step that changed nothing schedules none: then a few quiet seconds are enough."""

    def pending() -> bool:
        return bool(cache.get(_flag("index-rebuild", owner.pk)) or cache.get(_flag("regroup", owner.pk)))

    quiet_until = time.monotonic() + 5

    def settled() -> bool:
        if pending():
            return False
        return refreshes(worker, owner) > after or time.monotonic() > quiet_until

    wait_until(settled, timeout=timeout, interval=0.3, message=lambda: worker.log_text()[-2000:])


def perform(user: CountingUser, action, snapshot) -> None:
    page = user.page
    user.kind = action.kind
    if action.kind == simulation.GROUP_QUESTION_CONFIRM:
        user.nav("People", "/people/")
        user.click(page.locator(f'form[action="/people/groups/{action.group_id}/yes/"] button'))
    elif action.kind == simulation.GROUP_NAME:
        user.nav("People", "/people/")
        user.name(page.locator(f"#group-name-{action.group_id}"), action.name or snapshot.persons[action.person_id])
    elif action.kind == simulation.GROUP_NAME_PARTIAL:
        user.nav("People", "/people/")
        user.click(page.locator(f'a[href="/people/groups/{action.group_id}/"]'))
        page.wait_for_url(f"{user.base}/people/groups/{action.group_id}/")
        user.click(page.locator("[data-select-all]"))
        keep = set(action.face_ids)
        for box in page.locator("input[data-pick]").all():
            if int(box.get_attribute("value")) not in keep:
                user.click(box)
        field = page.locator("#group-name")
        user.click(field)
        field.press_sequentially(action.name or snapshot.persons[action.person_id])
        user.keys += len(action.name or snapshot.persons[action.person_id])
        user.by_kind[user.kind] += len(action.name or snapshot.persons[action.person_id])
        user.click(page.get_by_role("button", name="Name the selected faces"))
    elif action.kind == simulation.PERSON_CONFIRM_SUGGESTIONS:
        user.person_page(action.person_id)
        user.click(page.get_by_role("button", name="Yes, all"))
    elif action.kind == simulation.FACE_CONFIRM:
        (face_id,) = action.face_ids
        user.person_page(action.person_id)
        user.click(page.locator(f'form[action="/people/faces/{face_id}/confirm/"] button'))
    elif action.kind in (simulation.FACE_ASSIGN, simulation.FACE_UNASSIGN):
        (face_id,) = action.face_ids
        face = next(f for f in snapshot.faces if f.id == face_id)
        listed = (
            face.state == simulation.UNKNOWN
            and face.group_id is None
            and Face.objects.filter(pk=face_id, recognisable=True).exists()
        )
        if listed:
            if not user.on("/people/unnamed/"):
                user.nav("People", "/people/")
                user.click(page.locator('a[href="/people/unnamed/"]'))
            user.click(page.locator(f'a[href^="/people/faces/{face_id}/"]'))
        elif face.person_id is not None:
            # A face named or suggested as someone else: from that person's page.
            user.person_page(face.person_id)
            user.click(page.locator(f'a[href="/people/faces/{face_id}/"]'))
        else:
            # Not listed anywhere (too small or blurred), or in a group the user gave up
            # naming whole: named on its photo, found in Photos (one click on its tile;
            # scrolling to it is not counted).
            page.goto(f"{user.base}{PHOTOS}{face.photo_id}/")
            user.clicks += 1
            user.by_kind[user.kind] += 1
            user.click(page.locator(f'a[href^="/people/faces/{face_id}/"]'))
        if action.kind == simulation.FACE_UNASSIGN:
            user.click(page.locator(f'form[action="/people/faces/{face_id}/unassign/"] button'))
        else:
            user.name(page.locator(f"#face-{face_id}-name"), action.name or snapshot.persons[action.person_id])
    else:
        raise AssertionError(f"no page step for {action.kind}")


def test_naming_everyone_in_the_shared_faces(page: Page, live_server, celery_worker_process, faces_dir):
    worker = celery_worker_process
    watch_console(page, expected_statuses=(404,))
    owner = make_verified_user("trial@example.com", "correct-horse-battery-42", display_name="Trial")
    dataset = evaluation.dataset_scan(faces_dir)
    samples = [evaluation.Sample(p, name) for name, paths in dataset.identities.items() for p in paths]
    samples += [evaluation.Sample(p, None) for p in dataset.extras]
    photos = add_photos(owner, [s.path for s in samples])
    for sample, photo in zip(samples, photos, strict=True):
        sample.photo_id = photo.pk
    wait_processed(owner, worker, timeout=900)
    settle(worker, owner, after=0)

    faces_by_photo: dict[int, list] = {}
    for face in Face.objects.filter(owner=owner).order_by("id"):
        faces_by_photo.setdefault(face.photo_id, []).append(face)
    truth: dict[int, str] = {}
    for sample in samples:
        biggest = evaluation.largest(faces_by_photo.get(sample.photo_id, []))
        if sample.identity is not None and biggest is not None:
            truth.setdefault(biggest.id, sample.identity)

    log_in(page, live_server.url, owner)
    page.set_default_timeout(20_000)
    user = CountingUser(page, live_server.url)
    page.goto(live_server.url + "/people/")
    tracker = simulation.Tracker(truth)
    futile: set = set()
    steps = []
    snapshot = evaluation._library_snapshot(owner)
    start = evaluation._start_groups(snapshot, truth)
    print(f"Start: {start}")
    while len(steps) < 2 * len(truth):
        tracker.observe(snapshot)
        action = simulation.next_action(snapshot, truth, exclude=futile)
        if action is None:
            break
        before = simulation.remaining(snapshot, truth)
        done = refreshes(worker, owner)
        # The step's answer must be back before waiting for the refresh it schedules.
        with page.expect_response(lambda r: r.request.method == "POST", timeout=120_000) as answer:
            perform(user, action, snapshot)
        assert answer.value.status < 400, f"{action.kind} answered {answer.value.status}"
        said = page.locator(".toast, [role=status], [role=alert], .errorlist").all_inner_texts()
        settle(worker, owner, after=done)
        if page.reload().status == 404:
            # The step's page is gone (a group all named, say): the user goes back to People.
            page.goto(live_server.url + "/people/")
            user.clicks += 1
        snapshot = evaluation._library_snapshot(owner)
        if simulation.remaining(snapshot, truth) == before:
            futile.add(action.key)
            print(f"   changed nothing; the page said: {said}")
        steps.append(action.kind)
        print(
            f"{len(steps)}. {evaluation._describe(action)}: "
            f"{len(truth) - len(simulation.remaining(snapshot, truth))}/{len(truth)} right"
        )

    left = simulation.remaining(snapshot, truth)
    result = {
        "naming_trial": True,
        "photos": len(photos),
        "scored_faces": len(truth),
        "people": len(dataset.identities),
        "steps": len(steps),
        "steps_by_kind": dict(Counter(steps)),
        "clicks": user.clicks,
        "keys": user.keys,
        "clicks_and_keys": user.clicks + user.keys,
        "clicks_and_keys_by_kind": dict(user.by_kind),
        **start,
        "wrong_auto": len(tracker.wrong_auto),
        "left_wrong": len(left),
        "suggestion_precision": tracker.suggestion_precision(),
    }
    print(json.dumps(result))
    assert not left, f"{len(left)} faces left wrong"
    assert not tracker.wrong_auto, f"named wrongly automatically: {tracker.wrong_auto}"
