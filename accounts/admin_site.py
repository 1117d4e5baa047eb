"""The Django admin, behind a second factor and a login rate limit.

allauth guards the user-facing login; /admin/login/ is Django's own form, so it gets
django-otp (a verified TOTP, email or backup-code device is required) and the same rate-limit
machinery allauth uses, counted in the shared cache.
"""

from allauth.core import ratelimit
from django.http import HttpRequest, HttpResponse
from django_otp.admin import OTPAdminSite


class SmartGalleryAdminSite(OTPAdminSite):
    site_header = "SmartGallery administration"
    site_title = "SmartGallery admin"

    def __init__(self, name: str = "admin") -> None:
        # OTPAdminSite defaults to the "otpadmin" namespace; keep "admin" so reverse("admin:...")
        # and every app's admin registration work unchanged.
        super().__init__(name)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method == "POST":
            key = request.POST.get("username", "").strip().lower()
            limited = ratelimit.consume_or_429(request, action="admin_login", key=key)
            if limited:
                return limited
        return super().login(request, extra_context)
