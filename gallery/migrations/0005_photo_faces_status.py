from django.db import migrations, models


def photos_done_had_their_faces_looked_for(apps, schema_editor):
    # Before this field a photo was done only after its faces were stored.
    Photo = apps.get_model("gallery", "Photo")
    Photo.objects.filter(status="done").update(faces_status="done")


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0004_photo_trash"),
    ]

    operations = [
        migrations.AddField(
            model_name="photo",
            name="error_detail",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="photo",
            name="faces_status",
            field=models.CharField(
                choices=[("pending", "Not looked for yet"), ("done", "Looked for"), ("failed", "Could not be looked for")],
                default="pending",
                max_length=8,
            ),
        ),
        migrations.RunPython(photos_done_had_their_faces_looked_for, migrations.RunPython.noop),
    ]
