"""The search index: an FTS5 table on SQLite, a tsvector table with a GIN index on PostgreSQL."""

from django.db import migrations


def create(apps, schema_editor):
    from banbantong.search.backends import backend

    for sql in backend(schema_editor.connection.vendor).create_sql():
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    from banbantong.search.backends import backend

    for sql in backend(schema_editor.connection.vendor).drop_sql():
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("resources", "0001_blobs_resources_uploads")]

    operations = [migrations.RunPython(create, drop)]
