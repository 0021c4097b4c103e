"""Move ``SessionBackup.archive`` to the end of the row, after the columns added since.

SQLite keeps a row's columns in order and a megabyte blob in a chain of overflow pages: every
listing of backups (the restore chain's, the backup's own "unchanged?" check, the rotation) that
read a column stored after the archive walked the whole chain of every row it listed. The columns
are the same before and after; only where the bytes sit changes (PostgreSQL keeps large values
apart anyway, and is rewritten the same way).
"""

from django.db import migrations, models
from django.db.models import F


def _copy_bytes(apps, schema_editor):
    backup = apps.get_model("sessions_store", "SessionBackup")
    backup.objects.using(schema_editor.connection.alias).update(archive=F("archive_before"))


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_store", "0006_whatsappsession_store_key"),
    ]

    operations = [
        migrations.RenameField(model_name="sessionbackup", old_name="archive", new_name="archive_before"),
        migrations.AddField(
            model_name="sessionbackup", name="archive", field=models.BinaryField(default=b"", editable=False)
        ),
        migrations.RunPython(_copy_bytes, migrations.RunPython.noop),
        migrations.RemoveField(model_name="sessionbackup", name="archive_before"),
    ]
