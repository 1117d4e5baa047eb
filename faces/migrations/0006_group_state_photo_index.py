from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("faces", "0005_covering_indexes"),
    ]

    # The People page counts each group's unknown faces not in the trash from this index alone
    # (faces.selectors.group_list). On MariaDB it also serves the foreign key on group_id, whose
    # own index MariaDB then drops.
    operations = [
        migrations.AddIndex(
            model_name="face",
            index=models.Index(fields=["group", "state", "photo"], name="face_group_state_photo"),
        ),
    ]
