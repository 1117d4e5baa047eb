from django.urls import path

from gallery import views

app_name = "gallery"

urlpatterns = [
    path("", views.timeline, name="timeline"),
    path("upload/", views.upload, name="upload"),
    path("upload/progress/", views.upload_progress, name="upload_progress"),
    path("processing/", views.processing, name="processing"),
    path("retry-failed/", views.photos_retry_failed, name="retry_failed"),
    path("<int:pk>/", views.photo_detail, name="photo"),
    path("<int:pk>/tile/", views.photo_tile, name="tile"),
    path("<int:pk>/original/", views.photo_original, name="original"),
    path("<int:pk>/preview.jpg", views.photo_preview, name="preview"),
    path("<int:pk>/thumbnail.jpg", views.photo_thumbnail, name="thumbnail"),
    path("<int:pk>/retry/", views.photo_retry, name="retry"),
    path("<int:pk>/delete/", views.photo_delete, name="delete"),
    path("<int:pk>/restore/", views.photo_restore, name="restore"),
    path("<int:pk>/delete-for-good/", views.photo_purge, name="purge"),
    path("trash/", views.trash, name="trash"),
    path("trash/empty/", views.trash_empty, name="trash_empty"),
    path("faces/<int:pk>/crop.jpg", views.face_crop, name="face_crop"),
]
