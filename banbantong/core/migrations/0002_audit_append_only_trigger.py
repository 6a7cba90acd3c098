"""On PostgreSQL the database itself refuses to change or delete audit entries younger than
the retention period, so not even a bug or a hand-typed SQL statement in the app can do it."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION bbt_audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'audit log is append-only';
  END IF;
  IF OLD.at > now() - interval '180 days' THEN
    RAISE EXCEPTION 'audit entries are kept at least 180 days';
  END IF;
  RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bbt_audit_append_only BEFORE UPDATE OR DELETE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION bbt_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS bbt_audit_append_only ON core_auditentry;
DROP FUNCTION IF EXISTS bbt_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
