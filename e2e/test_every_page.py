"""Every page, signed out, signed in and in the admin, without a console error (issue 14, bug 9):
Chromium reports each Content-Security-Policy refusal (an inline style or script) and each failed
request as a console error, so this walk finds them all. The error pages (403, 404, 500) are in
the layout with a way back."""

from __future__ import annotations

import time

import pytest
from allauth.account.models import EmailAddress
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed, watch_console
from faces import services as face_services
from faces.models import Face, Person
from gallery.models import Photo
from sharing.services import share_invite

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

ADMIN_PASSWORD = "admin-password-1357-2468"  # noqa: S105 (a test account's)


def admin_pages() -> list[str]:
    """Every registered model's list, its add form where adding is allowed, and the change, history
    and delete pages of one of its rows when there is one (nothing is deleted: a GET asks)."""
    from django.contrib import admin
    from django.test import RequestFactory
    from django.urls import reverse

    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(email="admin@example.com")
    pages = []
    for model, model_admin in admin.site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"admin:{info}_changelist"))
        if model_admin.has_add_permission(request):
            pages.append(reverse(f"admin:{info}_add"))
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            pages += [reverse(f"admin:{info}_{view}", args=[row.pk]) for view in ("change", "history")]
            if model_admin.has_delete_permission(request, row):
                pages.append(reverse(f"admin:{info}_delete", args=[row.pk]))
    return pages


def visit(page: Page, url: str, errors: list[str], *, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, f"{url}: {response and response.status}"
    page.wait_for_load_state("networkidle")
    assert errors == [], errors


def test_no_page_logs_a_console_error(page: Page, live_server, celery_worker_process, faces_dir, screenshots):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    photos = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:3])
    wait_processed(alice, celery_worker_process)
    face = Face.objects.filter(photo=photos[0]).order_by("-size_px").first()
    face_services.face_assign(user=alice, face_id=face.pk, name="Colin Powell")
    colin = Person.objects.get(owner=alice, name="Colin Powell")
    other = face_services.person_create(user=alice, name="Someone")
    base = live_server.url
    errors = watch_console(page, expected_statuses=(404,))

    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        visit(page, f"{base}{path}", errors)

    log_in(page, base, alice)
    pages = [
        "/photos/",
        "/photos/upload/",
        f"/photos/{photos[0].pk}/",
        f"/people/photos/{photos[0].pk}/draw/",
        "/photos/trash/",
        "/people/",
        "/people/review/",
        "/people/unnamed/",
        f"/people/{colin.pk}/",
        f"/people/{colin.pk}/merge/",
        f"/people/photos/?person={colin.pk}",
        "/accounts/settings/",
        "/accounts/email/",
        "pending email change",
        "/accounts/password/change/",
        "/accounts/sessions/",
        "/accounts/delete/",
    ]
    # The test photos are 250 px: shown at twice that on a desktop, the phone's width on a phone.
    page.goto(f"{base}/photos/{photos[0].pk}/")
    preview = page.locator("#photo-frame img")
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=preview.element_handle())
    assert preview.bounding_box()["width"] == pytest.approx(500, abs=1)
    page.set_viewport_size({"width": 390, "height": 844})
    assert preview.bounding_box()["width"] == pytest.approx(390 - 32, abs=2)
    page.set_viewport_size({"width": 1280, "height": 800})

    for path in pages:
        if path == "pending email change":
            # The page changes once a new address waits for its code (allauth hides a form there).
            EmailAddress.objects.create(user=alice, email="alice.new@example.com", verified=False, primary=False)
            path = "/accounts/email/"
        visit(page, f"{base}{path}", errors)

    # A photo that is gone, and a saved filter link whose person was deleted since.
    visit(page, f"{base}/photos/{Photo.objects.order_by('-pk').first().pk + 1000}/", errors, status=404)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Back to your photos")).to_be_visible()
    link = f"{base}/people/photos/?person={colin.pk}&person={other.pk}"
    face_services.person_delete(user=alice, person_id=other.pk)
    visit(page, link, errors, status=404)
    expect(page.get_by_role("main")).to_contain_text("A person in this link is not among your people any more")
    assert_accessible(page, "404, a filter link whose person is gone")
    screenshots(page, "not-found")
    page.get_by_role("main").get_by_role("link", name="Choose people again").click()
    expect(page).to_have_url(f"{base}/people/photos/")

    # A library shared with bob, from both sides.
    bob = make_verified_user("bob@example.com", "correct-horse-battery-43", display_name="Bob")
    share = share_invite(owner=alice, email=bob.email, site_url=base)
    visit(page, f"{base}/sharing/", errors)
    page.context.clear_cookies()
    log_in(page, base, bob)
    shared = f"/shared/{share.pk}"
    for path in (
        f"{shared}/",
        f"{shared}/photos/{photos[0].pk}/",
        f"{shared}/people/",
        f"{shared}/people/{colin.pk}/",
        f"{shared}/people/photos/?person={colin.pk}",
    ):
        visit(page, f"{base}{path}", errors)

    # The admin, with its second factor.
    staff = User.objects.create_user("admin@example.com", ADMIN_PASSWORD, is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    page.context.clear_cookies()
    visit(page, f"{base}/admin/login/", errors)
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # django-otp asks which device once it knows the user.
    page.get_by_role("combobox", name="OTP Device").select_option(label="phone")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_label("OTP Token").fill(str(totp.token()).zfill(device.digits))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert errors == [], errors
    for path in ["/admin/", *admin_pages()]:
        visit(page, f"{base}{path}", errors)
