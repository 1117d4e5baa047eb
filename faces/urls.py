from django.urls import path

from faces import views

app_name = "faces"

urlpatterns = [
    path("", views.people, name="people"),
    path("review/", views.review, name="review"),
    path("review/yes/", views.review_confirm, name="review_confirm"),
    path("review/no/", views.review_reject, name="review_reject"),
    path("review/name/", views.review_name, name="review_name"),
    path("photos/", views.photo_filter, name="photo_filter"),
    path("photos/<int:photo_id>/draw/", views.face_draw, name="face_draw"),
    path("unnamed/", views.unnamed, name="unnamed"),
    path("undo/<str:token>/", views.undo, name="undo"),
    path("<int:person_id>/", views.person, name="person"),
    path("<int:person_id>/rename/", views.person_rename, name="person_rename"),
    path("<int:person_id>/birth-date/", views.person_birth_date, name="person_birth_date"),
    path("<int:person_id>/cover/", views.person_cover, name="person_cover"),
    path("<int:person_id>/hide/", views.person_hide, name="person_hide"),
    path("<int:person_id>/unhide/", views.person_unhide, name="person_unhide"),
    path("<int:person_id>/merge/", views.person_merge, name="person_merge"),
    path("<int:person_id>/delete/", views.person_delete, name="person_delete"),
    path("<int:person_id>/confirm-suggestions/", views.person_confirm_suggestions, name="person_confirm_suggestions"),
    path("<int:person_id>/outliers/", views.person_outliers, name="person_outliers"),
    path("<int:person_id>/faces/move/", views.person_faces_move, name="person_faces_move"),
    path("<int:person_id>/faces/not-this-person/", views.person_faces_reject, name="person_faces_reject"),
    path("<int:person_id>/faces/confirm/", views.person_faces_confirm, name="person_faces_confirm"),
    path("faces/<int:face_id>/", views.face, name="face"),
    path("faces/<int:face_id>/assign/", views.face_assign, name="face_assign"),
    path("faces/<int:face_id>/confirm/", views.face_confirm, name="face_confirm"),
    path("faces/<int:face_id>/reject/", views.face_reject, name="face_reject"),
    path("faces/<int:face_id>/unassign/", views.face_unassign, name="face_unassign"),
    path("faces/<int:face_id>/not-a-face/", views.face_not_a_face, name="face_not_a_face"),
    path("groups/<int:group_id>/", views.group, name="group"),
    path("groups/<int:group_id>/name/", views.group_name, name="group_name"),
    path("groups/<int:group_id>/remove/", views.group_remove, name="group_remove"),
    path("groups/<int:group_id>/dismiss/", views.group_dismiss, name="group_dismiss"),
    path("groups/<int:group_id>/yes/", views.group_question_confirm, name="group_question_confirm"),
    path("groups/<int:group_id>/no/", views.group_question_reject, name="group_question_reject"),
]
