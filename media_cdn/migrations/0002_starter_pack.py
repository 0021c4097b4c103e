"""Load the starter pack (media_cdn/starter/gifs) so a fresh install has its reaction GIFs.

A data migration runs once per database, which is exactly "after the first migrate"; unlike a
post_migrate hook it does not run again on every `flush` in the test suite. It converts with the
same pipeline as `import_gifs` (a second or so for the whole pack). A failure (no ffmpeg, say) is
logged and never blocks a deploy: `manage.py import_gifs --starter` loads the pack later.
"""

import logging

from django.db import migrations

log = logging.getLogger("media_cdn.starter")


def load_starter_pack(apps, schema_editor):
    from django.conf import settings

    from media_cdn.starter import starter_pack_install

    if not settings.MEDIA_STARTER_PACK:
        log.info("starter pack skipped (MEDIA_STARTER_PACK=false)")
        return
    try:
        starter_pack_install(apps=apps)
    except Exception:  # never block a deploy on reaction GIFs
        log.exception("starter pack not loaded; run `manage.py import_gifs --starter`")


class Migration(migrations.Migration):
    dependencies = [("media_cdn", "0001_gif_assets_and_renditions")]

    operations = [migrations.RunPython(load_starter_pack, migrations.RunPython.noop, elidable=True)]
