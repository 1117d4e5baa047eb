"""SmartGallery settings, all driven by the environment.

With nothing set, the gallery runs embedded on one machine: SQLite and media under ./var/,
a Celery broker on the filesystem, email printed to the console. Setting DATABASE_URL,
REDIS_URL and friends switches the same file to the production stack (MariaDB + Redis).
Every helper below fails loudly on a value it cannot understand, so a typo in a deployment
stops the process at start-up instead of silently falling back to a default.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from smartgallery import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
# Nothing here writes to the disk: the embedded default's key file and folders are made by
# smartgallery/embedded.py, called by manage.py, wsgi.py and the smartgallery app.
VAR_DIR = embedded.var_dir()

# The embedded default is "production-like" only when the operator says so: a real deployment
# must set SECRET_KEY itself, the embedded one keeps a random key on disk so sessions survive
# restarts without anyone having to invent a secret.
PRODUCTION = bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"))

SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION and not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set")
    SECRET_KEY = embedded.read_secret_key(VAR_DIR)
elif len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_ROOT = envstr("SITE_ROOT", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # The admin site requires a verified OTP device (accounts/admin_site.py).
    "accounts.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "accounts",
    "allauth",
    "allauth.account",
    "allauth.usersessions",
    "django.contrib.humanize",  # allauth's sessions page uses naturaltime
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_email",
    "django_otp.plugins.otp_static",
    # Makes the embedded default's folders at start-up (smartgallery/apps.py).
    "smartgallery.apps.SmartGalleryConfig",
    "gallery",
    "faces",
    "sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files are ours to serve (no CDN), from the same process in the embedded default.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's UserSessionsMiddleware, recording activity at most once a minute per session.
    "accounts.middleware.ThrottledUserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smartgallery.urls"
WSGI_APPLICATION = "smartgallery.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smartgallery.context_processors.navigation",
                "sharing.context_processors.libraries",
            ],
        },
    },
]

# Database -----------------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    try:
        _db = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if _db["ENGINE"] == "django.db.backends.mysql":
        _db["OPTIONS"] = {
            "charset": "utf8mb4",
            # Strict mode turns silent truncation into errors, so bad data never lands half-written.
            "sql_mode": "STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO",
            "isolation_level": "read committed",
        }
        _db["TEST"] = {
            "NAME": envstr("SMARTGALLERY_TEST_DB_NAME") or f"test_{_db['NAME']}",
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
        }
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SQLITE_PATH") or VAR_DIR / "smartgallery.sqlite3",
            # The web server and the worker write to the same file: wait for the lock rather
            # than failing, and use WAL so readers never block the writer.
            "OPTIONS": {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
            },
            # A file (not :memory:) so a real Celery worker process can share the test database.
            "TEST": {"NAME": envstr("SMARTGALLERY_TEST_DB_NAME") or str(VAR_DIR / "test.sqlite3")},
        }
    }

DATABASE_VENDOR = DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and Celery ---------------------------------------------------------------------------

REDIS_URL = envstr("REDIS_URL")

if REDIS_URL:
    # Shared across every web and worker process, so rate limits and locks hold everywhere.
    CACHES = {"default": {"BACKEND": "smartgallery.redis_cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    }
else:
    # File-based so the web server and the worker process of the embedded default share it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Django's default of 300 files is soon full of the library cache's versions,
            # values and kept pages (smartgallery.fragments), and a full cache deletes a third
            # of its files, versions included: those pages are drawn again. Not more: each set
            # lists the folder (about 1 ms at 1,000 files here, 5 ms at 5,000).
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    }
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        # The default 1 s poll caps an embedded worker at about one task per process per second.
        "polling_interval": 0.1,
        "store_processed": False,
    }

CELERY_RESULT_BACKEND = REDIS_URL or f"file://{VAR_DIR / 'results'}"
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only when it finished, and re-queued if the worker dies under it.
# Tasks must therefore be idempotent, which every task in this project is.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 180, minimum=1)
# A cold shutdown (SIGQUIT: what scripts/run_worker.py sends on Ctrl-C under `make run`) gives the
# running tasks this long to finish, then hands them back to the queue and stops; an idle worker
# stops at once. A warm shutdown (SIGTERM, what process managers send) still waits for every task.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 3.0
CELERY_WORKER_MAX_MEMORY_PER_CHILD = envint("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 800_000, minimum=1)  # KiB
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Machine learning runs on its own queue so a deployment can put it on dedicated machines. The
# sweeper (docs/PHOTOS.md) is cheap and must not wait behind a long queue of photos.
CELERY_TASK_ROUTES = {
    "gallery.tasks.photos_requeue_stuck": {"queue": "default"},
    "gallery.tasks.photos_trash_purge": {"queue": "default"},
    "faces.tasks.drawn_faces_requeue_stuck": {"queue": "default"},
    "faces.tasks.*": {"queue": "faces"},
    "gallery.tasks.*": {"queue": "faces"},
}
SMARTGALLERY_SWEEP_INTERVAL_SECONDS = envint("SMARTGALLERY_SWEEP_INTERVAL_SECONDS", 300, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "gallery-requeue-stuck": {
        "task": "gallery.tasks.photos_requeue_stuck",
        "schedule": SMARTGALLERY_SWEEP_INTERVAL_SECONDS,
    },
    # Drawn faces whose measuring task was lost (faces/drawing.py).
    "faces-drawn-requeue-stuck": {
        "task": "faces.tasks.drawn_faces_requeue_stuck",
        "schedule": SMARTGALLERY_SWEEP_INTERVAL_SECONDS,
    },
    # Photos in the trash longer than Photo.TRASH_KEEP (30 days) are deleted for good.
    "gallery-trash-purge": {
        "task": "gallery.tasks.photos_trash_purge",
        "schedule": SMARTGALLERY_SWEEP_INTERVAL_SECONDS,
    },
}
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")

# Storage ------------------------------------------------------------------------------------

MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
# Media is never served by URL: every file goes through an owner-checked view. This prefix
# is only used by X-Accel-Redirect when nginx serves the bytes (see README).
MEDIA_URL = "/protected-media/"
SMARTGALLERY_X_ACCEL_REDIRECT = envbool("SMARTGALLERY_X_ACCEL_REDIRECT", False)

STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

S3_BUCKET = envstr("S3_BUCKET")
if S3_BUCKET:
    _default_storage = {
        # django-storages' S3Storage whose failures are OSError, as a disk's are.
        "BACKEND": "gallery.object_storage.ObjectStorage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": envstr("S3_ENDPOINT_URL") or None,
            "region_name": envstr("S3_REGION") or None,
            "access_key": envstr("S3_ACCESS_KEY_ID") or None,
            "secret_key": envstr("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        # No explicit location: the storage follows MEDIA_ROOT, also when tests override it.
        "BACKEND": "django.core.files.storage.FileSystemStorage",
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Photos (see docs/PHOTOS.md) ----------------------------------------------------------------

SMARTGALLERY_MAX_UPLOAD_BYTES = envint("SMARTGALLERY_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1)
# Decoded size cap, far below Pillow's own bomb limit: a 60 MP photo decodes to ~180 MB of RGB.
SMARTGALLERY_MAX_PIXELS = envint("SMARTGALLERY_MAX_PIXELS", 60_000_000, minimum=1)
SMARTGALLERY_USER_QUOTA_BYTES = envint("SMARTGALLERY_USER_QUOTA_BYTES", 0, minimum=0)  # 0 = unlimited
# A photo whose processing crashed, hung or failed transiently this many times ends `failed`.
SMARTGALLERY_MAX_ATTEMPTS = envint("SMARTGALLERY_MAX_ATTEMPTS", 3, minimum=1)
# First retry delay after a transient error (database, storage, Redis); doubles each time, with jitter.
SMARTGALLERY_RETRY_BACKOFF_SECONDS = envfloat("SMARTGALLERY_RETRY_BACKOFF_SECONDS", 5.0)
# The sweeper re-queues photos queued longer than this (a lost enqueue, Redis down at upload).
SMARTGALLERY_STUCK_AFTER_SECONDS = envint("SMARTGALLERY_STUCK_AFTER_SECONDS", 900, minimum=1)
# SMARTGALLERY_SWEEP_INTERVAL_SECONDS, how often beat runs the sweeper, is with the Celery settings.
SMARTGALLERY_PREVIEW_SIZE = envint("SMARTGALLERY_PREVIEW_SIZE", 1600, minimum=64)
SMARTGALLERY_THUMBNAIL_SIZE = envint("SMARTGALLERY_THUMBNAIL_SIZE", 320, minimum=32)
# Uploads above this size stream to a temporary file instead of memory (Django's default, said out loud).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    # Stops reading a file as soon as it passes SMARTGALLERY_MAX_UPLOAD_BYTES.
    "gallery.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", 100, minimum=1)

# Email --------------------------------------------------------------------------------------

EMAIL_HOST = envstr("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "SmartGallery <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security -----------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL = envbool("SECURE_SSL", PRODUCTION and not DEBUG)
if SECURE_SSL:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy (nginx, Caddy, a load balancer).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
# After signing in and after signing up (allauth's signup redirect follows this): the gallery,
# not the page that explains SmartGallery to visitors (issue 14, bug 9).
LOGIN_REDIRECT_URL = "/photos/"

# Accounts (docs/ACCOUNTS.md) ------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the admin login (email + password + OTP)
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2id with our measured costs first; the others only verify old hashes, which are
# rewritten with the first hasher at the next successful login.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
SMARTGALLERY_ALLOW_SIGNUP = envbool("SMARTGALLERY_ALLOW_SIGNUP", True)
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Adds the display name to allauth's sign-up form.
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
# A taken address answers as a new one does, in time too (accounts/signup.py).
ACCOUNT_FORMS = {"signup": "accounts.signup.SameAnswerSignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
# Password first, then a code mailed to the address: a leaked password alone is not enough.
ACCOUNT_LOGIN_BY_CODE_REQUIRED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 180
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True  # at most two new codes per login
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SmartGallery] "
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password/email was changed" mails
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SECURE_SSL else "http"
# Counted in the default cache, which is Redis whenever REDIS_URL is set, so every web
# process shares one count. "key" is the email address.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/10s/key",
    "request_login_code": "20/m/ip,3/m/key",
    # Ours (accounts/views.py, accounts/admin_site.py), counted by the same machinery.
    "resend_login_code": "1/20s/key,6/h/ip",
    "admin_login": "10/m/ip,5/300s/key",
    # Ours (sharing/views.py): each invitation mails an address the owner typed.
    "share_invite": "20/h/user",
}
# Number of reverse proxies in front of us that append to X-Forwarded-For. 0 means the client
# address is REMOTE_ADDR and a forged header is ignored, so it cannot dodge the IP limits.
ALLAUTH_TRUSTED_PROXY_COUNT = envint("ALLAUTH_TRUSTED_PROXY_COUNT", 0, minimum=0)
# "Last seen" on the sessions page, written by accounts.middleware at most once a minute.
USERSESSIONS_TRACK_ACTIVITY = True
OTP_TOTP_ISSUER = "SmartGallery"
OTP_EMAIL_SENDER = DEFAULT_FROM_EMAIL
OTP_EMAIL_SUBJECT = "[SmartGallery] Admin sign-in code"
# MariaDB cannot enforce allauth's conditional unique constraints (one primary / one verified
# address per email); allauth checks the same rules in Python before writing, so the warning
# is about defence in depth we cannot have on this database, not a bug to fix.
SILENCED_SYSTEM_CHECKS = ["models.W036"]

# A Content-Security-Policy on every response. Our templates use no inline script or style:
# htmx comes from our static files and its indicator styles are off (base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Faces --------------------------------------------------------------------------------------

# A pack folder path or an InsightFace pack name (downloaded on first use where there is internet).
SMARTGALLERY_FACE_PACK = envstr("SMARTGALLERY_FACE_PACK", "buffalo_l")
SMARTGALLERY_ORT_THREADS = envint("SMARTGALLERY_ORT_THREADS", 1, minimum=1)
SMARTGALLERY_FACE_MIN_SCORE = envfloat("SMARTGALLERY_FACE_MIN_SCORE", 0.5)
SMARTGALLERY_FACE_MIN_SIZE = envint("SMARTGALLERY_FACE_MIN_SIZE", 32, minimum=1)
SMARTGALLERY_FACE_DET_SIZE = envint("SMARTGALLERY_FACE_DET_SIZE", 640, minimum=160)
SMARTGALLERY_INDEX_DIR = Path(envstr("SMARTGALLERY_INDEX_DIR", str(VAR_DIR / "index"))).resolve()
# Recognition (see docs/PEOPLE.md). Auto-assigned faces stay out of the reference index by
# default: feeding the system's own guesses back in lets one mistake attract the next.
# Reference faces must be at least this big (short side, px) and this frontal (0..1).
SMARTGALLERY_INDEX_MIN_FACE_PX = envint("SMARTGALLERY_INDEX_MIN_FACE_PX", 40, minimum=1)
SMARTGALLERY_INDEX_MIN_FRONTALNESS = envfloat("SMARTGALLERY_INDEX_MIN_FRONTALNESS", 0.0)
# Up to this many reference faces a user's index is an exact scan (float32 to 50,000, fp16
# above); beyond it, a PQ fast scan re-ranked in fp16 (approximate). docs/PEOPLE.md.
SMARTGALLERY_INDEX_EXACT_MAX = envint("SMARTGALLERY_INDEX_EXACT_MAX", 300_000, minimum=1)
# Loaded indexes each worker process keeps in memory, in MiB (least recently used go first; the
# index in use stays even when it alone is bigger). docs/BENCHMARKS.md, "Many users on one worker".
SMARTGALLERY_INDEX_CACHE_MB = envint("SMARTGALLERY_INDEX_CACHE_MB", 128, minimum=0)
# Debounce: label corrections within this many seconds share one index rebuild.
SMARTGALLERY_INDEX_REBUILD_DELAY = envfloat("SMARTGALLERY_INDEX_REBUILD_DELAY", 2.0)
SMARTGALLERY_FACES_REGROUP_DELAY = envfloat("SMARTGALLERY_FACES_REGROUP_DELAY", 10.0)
# Tests and `manage.py runserver` without collectstatic still render pages; a missing entry
# falls back to the unhashed name instead of a 500.
WHITENOISE_MANIFEST_STRICT = False
