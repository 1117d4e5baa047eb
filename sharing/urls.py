from django.urls import path

from sharing import views

app_name = "sharing"

# Mounted at the site root: the owner's page under sharing/, the viewer's pages of a library
# under shared/<share_id>/ (every one of them read-only; sharing/views.py).
urlpatterns = [
    path("sharing/", views.sharing_settings, name="settings"),
    path("sharing/<int:share_id>/revoke/", views.share_revoke, name="revoke"),
    path("shared/<int:share_id>/", views.library, name="library"),
    path("shared/<int:share_id>/photos/<int:pk>/", views.photo, name="photo"),
    path("shared/<int:share_id>/photos/<int:pk>/original/", views.photo_original, name="original"),
    path("shared/<int:share_id>/photos/<int:pk>/preview.jpg", views.photo_preview, name="preview"),
    path("shared/<int:share_id>/photos/<int:pk>/thumbnail.jpg", views.photo_thumbnail, name="thumbnail"),
    path("shared/<int:share_id>/faces/<int:pk>/crop.jpg", views.face_crop, name="face_crop"),
    path("shared/<int:share_id>/people/", views.people, name="people"),
    path("shared/<int:share_id>/people/photos/", views.photo_filter, name="photo_filter"),
    path("shared/<int:share_id>/people/<int:person_id>/", views.person, name="person"),
]
