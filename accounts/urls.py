from django.urls import path

from accounts import views

# Mounted under accounts/ next to allauth's URLs; names follow allauth's account_* style
# because the navigation and allauth's templates use them unnamespaced.
urlpatterns = [
    path("settings/", views.account_settings, name="account_settings"),
    path("delete/", views.account_delete, name="account_delete"),
    # Same path and name as allauth's view, listed first so it wins.
    path("login/code/confirm/", views.confirm_login_code, name="account_confirm_login_code"),
]
