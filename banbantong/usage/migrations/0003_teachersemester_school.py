"""TeacherSemester gets the teacher's school (filled from the teachers), indexed with the semester."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0005_school_teacher_count"),
        ("usage", "0002_schoolweek_covering_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="teachersemester",
            name="school",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="org.school"
            ),
        ),
        migrations.RunSQL(
            "UPDATE usage_teachersemester SET school_id = "
            "(SELECT school_id FROM org_teacher WHERE org_teacher.id = usage_teachersemester.teacher_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="teachersemester",
            name="school",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="org.school"),
        ),
        migrations.AddIndex(
            model_name="teachersemester",
            index=models.Index(fields=["semester", "school", "lessons"], name="teachersemester_school"),
        ),
    ]
