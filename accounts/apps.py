from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    default = True


class AdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our OTP-protected, rate-limited site as `admin.site`."""

    default = False
    default_site = "accounts.admin_site.SmartGalleryAdminSite"
