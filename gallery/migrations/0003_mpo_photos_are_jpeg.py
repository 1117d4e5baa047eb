from django.db import migrations


def mpo_is_jpeg(apps, schema_editor):
    # Photos uploaded before MPO was recognised as JPEG (issue 15 §7) were stored with format
    # "MPO": downloaded as .bin, application/octet-stream. Their bytes are a JPEG.
    apps.get_model("gallery", "Photo").objects.filter(image_format="MPO").update(image_format="JPEG")


class Migration(migrations.Migration):
    dependencies = [("gallery", "0002_photo_task_id")]

    operations = [migrations.RunPython(mpo_is_jpeg, migrations.RunPython.noop)]
