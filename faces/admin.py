"""Operators' view of persons and faces. Every change goes through faces.services, so an
admin rename, merge, reassign or delete bumps the owner's labels version and schedules the
same debounced index rebuild as the web pages. Services check that every object belongs to
the owner of the person or face being edited, so the admin cannot mix two users' data either.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from faces import services
from faces.models import Face, FaceGroup, Person, RecognitionIndex

SHOWN = Q(faces__state__in=[Face.State.CONFIRMED, Face.State.AUTO])


def _crop(face: Face) -> str:
    """The owner-checked crop (it answers only the face's owner: operators see id and box)."""
    if face.pk is None:  # the inline's empty template form
        return ""
    label = f"#{face.pk} ({face.x1:.0f},{face.y1:.0f})-({face.x2:.0f},{face.y2:.0f})"
    try:
        url = reverse("gallery:face_crop", args=[face.pk])
    except NoReverseMatch:
        return label
    return format_html('<img src="{}" alt="" width="48" height="48" loading="lazy"> {}', url, label)


class FaceInline(admin.TabularInline):
    model = Face
    fk_name = "person"
    fields = ("thumbnail", "photo", "state", "similarity", "margin", "changed_by", "changed_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="face")
    def thumbnail(self, face: Face) -> str:
        return _crop(face)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("photo", "changed_by")


class MergeForm(admin.helpers.ActionForm):
    into_person = forms.IntegerField(required=False, help_text="Merge into: person id (same owner)")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "face_count", "hidden", "birth_date", "deleted_at")
    list_filter = ("owner", "hidden", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "owner__email")
    fields = ("owner", "name", "hidden", "birth_date", "cover_face", "cover_chosen", "deleted_at", "merged_into")
    readonly_fields = ("owner", "cover_face", "cover_chosen", "deleted_at", "merged_into")
    inlines = [FaceInline]
    action_form = MergeForm
    actions = ["merge_selected", "delete_selected_persons"]
    list_select_related = ("owner",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_face_count=Count("faces", filter=SHOWN))

    @admin.display(description="faces", ordering="_face_count")
    def face_count(self, person: Person) -> int:
        return person._face_count

    def has_add_permission(self, request) -> bool:
        # A person belongs to a user and starts from a face: created from the people pages.
        return False

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        owner = obj.owner
        if "name" in form.changed_data:
            services.person_rename(user=owner, person_id=obj.pk, name=obj.name)
        if "hidden" in form.changed_data:
            (services.person_hide if obj.hidden else services.person_unhide)(user=owner, person_id=obj.pk)
        if "birth_date" in form.changed_data:
            services.person_set_birth_date(user=owner, person_id=obj.pk, birth_date=obj.birth_date)

    def delete_model(self, request, obj):
        services.person_delete(user=obj.owner, person_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for person in queryset.select_related("owner"):
            services.person_delete(user=person.owner, person_id=person.pk)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the bulk delete would skip the service
        return actions

    @admin.action(description="Merge selected persons into the person id given below")
    def merge_selected(self, request, queryset):
        into = request.POST.get("into_person")
        if not into:
            self.message_user(request, "Give the id of the person to merge into.", messages.ERROR)
            return
        merged = 0
        for person in queryset.exclude(pk=into).select_related("owner"):
            try:
                services.person_merge(user=person.owner, person_id=person.pk, into_person_id=int(into))
            except (ObjectDoesNotExist, ValidationError, ValueError) as exc:
                self.message_user(request, f"{person}: not merged ({exc}).", messages.ERROR)
                continue
            merged += 1
        self.message_user(request, f"Merged {merged} person(s).")

    @admin.action(description="Delete selected persons (faces become unknown)")
    def delete_selected_persons(self, request, queryset):
        self.delete_queryset(request, queryset)
        self.message_user(request, f"Deleted {queryset.count()} person(s).")


class FaceForm(forms.ModelForm):
    class Meta:
        model = Face
        fields = ("person", "state")

    def clean(self):
        data = super().clean()
        person = data.get("person")
        if person is not None and person.owner_id != self.instance.owner_id:
            raise ValidationError("That person belongs to another user.")
        return data


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    form = FaceForm
    list_display = (
        "id",
        "thumbnail",
        "owner",
        "person",
        "state",
        "source",
        "similarity",
        "margin",
        "photo",
        "changed_at",
    )
    list_filter = ("state", "source", "centred_crop", "owner")
    search_fields = ("person__name", "owner__email")
    list_select_related = ("owner", "person", "photo")
    raw_id_fields = ("person",)
    readonly_fields = (
        "thumbnail",
        "owner",
        "photo",
        "similarity",
        "margin",
        "det_score",
        "size_px",
        "sharpness",
        "frontalness",
        "recognisable",
        "source",
        "centred_crop",
        "model_id",
        "group",
        "changed_by",
        "changed_at",
    )
    fields = ("thumbnail", "person", "state", *readonly_fields[1:])
    actions = ["mark_not_a_face", "unassign"]

    @admin.display(description="face")
    def thumbnail(self, face: Face) -> str:
        return _crop(face)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Faces come and go with their photo; "not a face" is the way to drop one.
        return False

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        owner = obj.owner
        person, state = form.cleaned_data.get("person"), form.cleaned_data.get("state")
        if state == Face.State.REJECTED_AS_FACE:
            services.face_mark_not_a_face(user=owner, face_id=obj.pk)
        elif person is not None and state == Face.State.CONFIRMED:
            services.face_assign(user=owner, face_id=obj.pk, person_id=person.pk)
        elif person is None and form.initial.get("person"):
            services.face_unassign(user=owner, face_id=obj.pk)
        elif form.changed_data:
            raise ValidationError("Choose a person and confirmed, unassign, or not a face.")

    @admin.action(description="Mark as not a face")
    def mark_not_a_face(self, request, queryset):
        for face in queryset.select_related("owner"):
            services.face_mark_not_a_face(user=face.owner, face_id=face.pk)

    @admin.action(description="Remove from their person")
    def unassign(self, request, queryset):
        for face in queryset.filter(person__isnull=False).select_related("owner"):
            services.face_unassign(user=face.owner, face_id=face.pk)


@admin.register(RecognitionIndex)
class RecognitionIndexAdmin(admin.ModelAdmin):
    list_display = ("owner", "labels_version", "built_version", "size", "model_id", "built_at")
    readonly_fields = (
        "owner",
        "labels_version",
        "built_version",
        "checksum",
        "model_id",
        "dimension",
        "size",
        "built_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(FaceGroup)
class FaceGroupAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "dismissed", "created_at")
    list_filter = ("dismissed", "owner")
    readonly_fields = ("owner", "created_at")
