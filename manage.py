#!/usr/bin/env python
"""Django's command-line utility, with configuration errors and an unreachable database shown as one clear line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import InterfaceError, OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)
    except (OperationalError, InterfaceError) as exc:
        from blacksky_site.database_reach import database_unreachable_sentence

        sys.stderr.write(f"database error: {database_unreachable_sentence(exc)}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
