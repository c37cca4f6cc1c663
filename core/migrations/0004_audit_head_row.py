"""Create the audit head row once, so appending an event only ever locks it."""

from django.db import migrations


def create_head(apps, schema_editor):
    AuditHead = apps.get_model("core", "AuditHead")
    AuditHead.objects.get_or_create(pk=1, defaults={"last_hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_append_only")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
