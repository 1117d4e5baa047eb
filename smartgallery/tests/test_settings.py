"""Settings load in both modes, fail loudly on bad values, and write nothing when imported.

Each case runs in a fresh interpreter, because settings are read once per process: through
manage.py (which creates the embedded default's secret key first, as `make run` does) or, to
see what importing the settings alone does, plain `python -c`.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management.utils import get_random_secret_key

from conftest import REPO_ROOT

PRODUCTION_ENV = {
    "DATABASE_URL": "mysql://smartgallery:secret@db.internal:3306/smartgallery",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SECRET_KEY": get_random_secret_key(),
    "ALLOWED_HOSTS": "photos.example.org",
}
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'options': {k: str(v) for k, v in db.get('OPTIONS', {}).items()}, "
    "'health': db.get('CONN_HEALTH_CHECKS'), 'broker': settings.CELERY_BROKER_URL, "
    "'cache': settings.CACHES['default']['BACKEND'], 'email': settings.EMAIL_BACKEND, "
    "'media': str(settings.MEDIA_ROOT), 'pack': settings.SMARTGALLERY_FACE_PACK, "
    "'secure': settings.SESSION_COOKIE_SECURE, 'hsts': settings.SECURE_HSTS_SECONDS}))"
)
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "EMAIL_HOST",
    "S3_BUCKET",
    "MEDIA_ROOT",
    "SMARTGALLERY_FACE_PACK",
    "SECURE_SSL",
    "DEBUG",
    "SQLITE_PATH",
    "SMARTGALLERY_TEST_DB_NAME",
)


def run_python(
    code: str, env_overrides: dict[str, str], tmp_path, *, manage: bool = True
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({"DJANGO_SETTINGS_MODULE": "smartgallery.settings", "SMARTGALLERY_VAR_DIR": str(tmp_path / "var")})
    env.update(env_overrides)
    args = ["manage.py", "shell", "-c", code] if manage else ["-c", code]
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)


def load(env_overrides: dict[str, str], tmp_path) -> dict:
    result = run_python(PROBE, env_overrides, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def files_under(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")) if folder.exists() else []


def test_embedded_default_needs_no_server(tmp_path):
    loaded = load({}, tmp_path)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["broker"] == "filesystem://"
    assert loaded["cache"].endswith("FileBasedCache")
    assert loaded["email"].endswith("console.EmailBackend")
    assert loaded["media"] == str(tmp_path / "var" / "media")
    assert loaded["pack"] == "buffalo_l"
    assert (tmp_path / "var" / "secret_key").exists()


def test_the_embedded_key_is_made_once_readable_by_its_owner_only(tmp_path):
    assert run_python("pass", {}, tmp_path).returncode == 0
    key_file = tmp_path / "var" / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50 and key_file.stat().st_mode & 0o777 == 0o600

    assert run_python("pass", {}, tmp_path).returncode == 0
    assert key_file.read_text() == key  # sessions survive a restart
    assert files_under(tmp_path / "var").count("secret_key") == 1  # no temporary file left


def test_importing_the_settings_writes_nothing(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("k" * 60)
    result = run_python("import smartgallery.settings", {}, tmp_path, manage=False)
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "var") == ["secret_key"]

    result = run_python("import smartgallery.settings", {"SECRET_KEY": "s" * 60}, tmp_path / "other", manage=False)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "other").exists()


def test_without_a_key_the_settings_say_how_to_make_one(tmp_path):
    result = run_python("import smartgallery.settings", {}, tmp_path, manage=False)
    assert result.returncode != 0
    assert "No SECRET_KEY: set it, or run any `python manage.py` command" in result.stderr
    assert not (tmp_path / "var").exists()


def test_django_start_makes_the_folders_the_embedded_default_writes_into(tmp_path):
    """SQLite cannot create the folder of its file; the filesystem broker and the result store
    need theirs too. A SQLite file in a folder that does not exist yet works."""
    database = tmp_path / "elsewhere" / "deep" / "gallery.sqlite3"
    result = run_python(
        "from django.db import connection; connection.ensure_connection()",
        {"SQLITE_PATH": str(database)},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert database.exists()
    made = files_under(tmp_path / "var")
    for folder in ("broker/out", "broker/processed", "broker/control", "results"):
        assert folder in made, made


def test_production_uses_mariadb_redis_and_secure_cookies(tmp_path):
    loaded = load(PRODUCTION_ENV, tmp_path)
    assert loaded["engine"] == "django.db.backends.mysql"
    assert loaded["options"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in loaded["options"]["sql_mode"]
    assert loaded["health"] is True
    assert loaded["broker"] == PRODUCTION_ENV["REDIS_URL"]
    assert loaded["cache"].endswith("RedisCache")
    assert loaded["secure"] is True
    assert loaded["hsts"] >= 31536000


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT='twenty-five' is not an integer"),
        ({"DATABASE_URL": "mysql://x@h/db", "REDIS_URL": "redis://h"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50 characters"),
        ({"DATABASE_URL": "nosuchdb://x", "SECRET_KEY": "k" * 60}, "DATABASE_URL is not a valid database URL"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "500", "CELERY_TASK_TIME_LIMIT": "100"}, "must be below"),
    ],
)
def test_it_fails_loudly_on_bad_values(tmp_path, overrides, message):
    result = run_python(PROBE, overrides, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_passes_with_production_variables(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in CLEARED},
            **PRODUCTION_ENV,
            "SMARTGALLERY_VAR_DIR": str(tmp_path / "var"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tests_run_against_the_database_the_runner_announced():
    expected = "mysql" if os.environ.get("DATABASE_URL", "").startswith("mysql") else "sqlite3"
    assert settings.DATABASES["default"]["ENGINE"].endswith(expected)
