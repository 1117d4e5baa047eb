from django.contrib import admin
from django.urls import include, path

from gallery import views as gallery_views

# Our own message in our layout when a request body cannot be read (smartgallery/views.py).
handler400 = "smartgallery.views.bad_request"

urlpatterns = [
    path("", gallery_views.home, name="home"),
    path("photos/", include("gallery.urls")),
    path("people/", include("faces.urls")),
    # sharing/ (the owner's page) and shared/<share_id>/ (a library shared with the viewer).
    path("", include("sharing.urls")),
    path("admin/", admin.site.urls),
    # Ours first: account settings, delete, and a throttled wrapper of allauth's code page.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
]
