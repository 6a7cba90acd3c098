"""PostgreSQL: each index row carries its resource's school and network flag, kept by triggers
(backends.postgres.PLACE_SQL), so that a school user's search reads one school's matches.
SQLite's index needs nothing."""

from django.db import migrations


def add_places(apps, schema_editor):
    from banbantong.search.backends import postgres

    if schema_editor.connection.vendor == "postgresql":
        for sql in postgres.PLACE_SQL:
            schema_editor.execute(sql)


def drop_places(apps, schema_editor):
    from banbantong.search.backends import postgres

    if schema_editor.connection.vendor == "postgresql":
        table = postgres.TABLE
        for sql in (
            f"DROP TRIGGER IF EXISTS {table}_moved ON resources_resource",
            f"DROP TRIGGER IF EXISTS {table}_place ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_moved()",
            f"DROP FUNCTION IF EXISTS {table}_place()",
            f"ALTER TABLE {table} DROP COLUMN IF EXISTS school_id, DROP COLUMN IF EXISTS network",
        ):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_index_table")]

    operations = [migrations.RunPython(add_places, drop_places)]
