#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")
    from smartgallery.embedded import create_secret_key

    create_secret_key()  # the embedded default's key, before the settings read it
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
