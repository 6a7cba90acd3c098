"""Fill the new roll-ups from the classes already stored (schema → fill)."""

from typing import Any

from django.db import migrations
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When

BUILT = ["built", "accepted"]


def fill(apps: Any, schema_editor: Any) -> None:
    TeachingClass = apps.get_model("org", "TeachingClass")
    ClassRollup = apps.get_model("org", "ClassRollup")
    ClassStatusChange = apps.get_model("org", "ClassStatusChange")
    db = schema_editor.connection.alias
    rows = (
        TeachingClass.objects.using(db).order_by().values("school_id", "mode_id")
        .annotate(
            region_path=F("school__region_path"), kind=F("school__kind"), is_rural=F("school__is_rural"),
            n=Count("id"), n_built=Count("id", filter=Q(status__in=BUILT)),
            n_accepted=Count("id", filter=Q(status="accepted")), n_planned=Count("id", filter=Q(status="planned")),
            n_building=Count("id", filter=Q(status="building")),
        )
    )
    ClassRollup.objects.using(db).bulk_create(
        (
            ClassRollup(
                school_id=r["school_id"], mode_id=r["mode_id"], region_path=r["region_path"], kind=r["kind"],
                is_rural=r["is_rural"], classes=r["n"], built=r["n_built"], accepted=r["n_accepted"],
                planned=r["n_planned"], building=r["n_building"],
            )
            for r in rows.iterator()
        ),
        batch_size=2000,
    )
    klass = TeachingClass.objects.using(db).filter(pk=OuterRef("klass_id"))
    ClassStatusChange.objects.using(db).update(
        school_id=Subquery(klass.values("school_id")),
        mode_id=Subquery(klass.values("mode_id")),
        built_delta=Case(
            When(Q(new_status__in=BUILT) & ~Q(old_status__in=BUILT), then=Value(1)),
            When(~Q(new_status__in=BUILT) & Q(old_status__in=BUILT), then=Value(-1)),
            default=Value(0),
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("org", "0006_class_rollups_and_history_by_school")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
