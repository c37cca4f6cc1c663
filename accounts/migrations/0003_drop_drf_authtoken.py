"""DRF's authtoken table is replaced by knox's hashed, expiring tokens. The old tokens were stored in
clear and never expired, so they are not carried over: every API client logs in again once."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_surveyor_scope"), ("knox", "0009_extend_authtoken_field")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(
            "DELETE FROM django_migrations WHERE app = 'authtoken'", reverse_sql=migrations.RunSQL.noop
        ),
    ]
