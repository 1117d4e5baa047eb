from django.urls import path

from accounts import views

# Mounted under accounts/ next to allauth's URLs; names follow allauth's account_* style
# because the navigation and allauth's templates use them unnamespaced.
urlpatterns = [
    path("settings/", views.account_settings, name="account_settings"),
    path("delete/", views.account_delete, name="account_delete"),
    # Same paths and names as allauth's views, listed first so they win.
    path("login/code/confirm/", views.confirm_login_code, name="account_confirm_login_code"),
    path("confirm-email/", views.confirm_email_code, name="account_email_verification_sent"),
]
