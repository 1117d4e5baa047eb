"""What the embedded default keeps in SMARTGALLERY_VAR_DIR before it can run: a secret key, and
the folders of SQLite, the filesystem broker and the file result store.

Importing the settings writes nothing; they only read the key. The entry points create it
before Django reads the settings (manage.py, wsgi.py: `make run` migrates through manage.py
before it starts the worker, so the worker finds the key too), and the smartgallery app makes
the folders when Django starts (smartgallery/apps.py), in every process that uses them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)
TRUE = ("1", "true", "yes", "on")


def var_dir() -> Path:
    return Path(os.environ.get("SMARTGALLERY_VAR_DIR", str(BASE_DIR / "var"))).resolve()


def create_secret_key() -> None:
    """Write a random key to SMARTGALLERY_VAR_DIR/secret_key once, where the settings will read
    it: no SECRET_KEY in the environment, and the embedded default (or DEBUG), as in settings.py.
    The embedded default so needs no invented secret, and its sessions survive restarts.

    Made under another name and linked into place, so a web server and a worker starting at once
    never read a half-written key, and the first one's key is the one both use."""
    production = os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")
    debug = os.environ.get("DEBUG", "").strip().lower() in TRUE
    if os.environ.get("SECRET_KEY") or (production and not debug):
        return
    from django.core.management.utils import get_random_secret_key

    path = var_dir() / SECRET_KEY_FILE
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{SECRET_KEY_FILE}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(get_random_secret_key())
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            pass  # another process was first: its key is the one everybody reads
        except OSError:
            # A filesystem without hard links: a rename, which only a racing process could repeat.
            if not path.exists():
                os.replace(tmp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def read_secret_key(folder: Path) -> str:
    path = folder / SECRET_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        raise ImproperlyConfigured(
            f"No SECRET_KEY: set it, or run any `python manage.py` command (`make run` does) to create {path}"
        )
    return key


def make_folders(settings) -> None:
    """Create the folders the configured SQLite database, filesystem broker and file result
    store write into; nothing for MariaDB, Redis or S3."""
    folders: list[Path] = []
    for database in settings.DATABASES.values():
        if database["ENGINE"] == "django.db.backends.sqlite3":
            for name in (database.get("NAME"), database.get("TEST", {}).get("NAME")):
                if name and str(name) != ":memory:" and not str(name).startswith("file:"):
                    folders.append(Path(name).parent)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        keys = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
        folders += [Path(options[key]) for key in keys]
    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        folders.append(Path(settings.CELERY_RESULT_BACKEND.removeprefix("file://")))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
