"""The one settings module. Every knob is a BBT_* environment variable, validated here.

Embedded defaults (SQLite and files under ./data) make `bbt demo` work on a bare machine;
production sets BBT_DATABASE_URL (PostgreSQL), BBT_REDIS_URL and BBT_SECRET_KEY.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


DATA_DIR = Path(os.environ.get("BBT_DATA_DIR") or Path.cwd() / "data").resolve()
DEBUG = _env_bool("BBT_DEBUG", False)

_secret = os.environ.get("BBT_SECRET_KEY", "")
if not _secret:
    # An embedded install keeps a generated key beside its data so sessions survive restarts.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key(), encoding="utf-8")
        key_file.chmod(0o600)
    _secret = key_file.read_text(encoding="utf-8").strip()
SECRET_KEY = _secret

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("BBT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("BBT_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "banbantong.core",
    "banbantong.accounts",
    "banbantong.org",
    "banbantong.planning",
    "banbantong.devices",
    "banbantong.usage",
    "banbantong.resources",
    "banbantong.search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "banbantong.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "banbantong.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "banbantong.urls"
WSGI_APPLICATION = "banbantong.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "banbantong.core.context_processors.notifications",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
_db_url = os.environ.get("BBT_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'banbantong.sqlite3'}"
if _db_url.startswith("sqlite:///"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
try:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"BBT_DATABASE_URL is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the page process read while an import writes; busy_timeout waits instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = os.environ.get("BBT_REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts, passwords, sessions ----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# 等保 level 2: at least 8 characters from at least 3 of 4 classes, by default.
BBT_PASSWORD_MIN_LENGTH = _env_int("BBT_PASSWORD_MIN_LENGTH", 8, minimum=6)
BBT_PASSWORD_MIN_CLASSES = _env_int("BBT_PASSWORD_MIN_CLASSES", 3, minimum=1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": BBT_PASSWORD_MIN_LENGTH}},
    {"NAME": "banbantong.accounts.passwords.CharacterClassValidator",
     "OPTIONS": {"min_classes": BBT_PASSWORD_MIN_CLASSES}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Idle expiry: every request pushes the expiry forward, so only idle sessions end.
SESSION_COOKIE_AGE = _env_int("BBT_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("BBT_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Lockout is keyed on username + IP together: a whole school shares one IP.
AXES_FAILURE_LIMIT = _env_int("BBT_LOCKOUT_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("BBT_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = _env_int("BBT_PROXY_COUNT", 0)
AXES_ENABLE_ADMIN = False

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("BBT_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
MEDIA_ROOT = Path(os.environ.get("BBT_MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
BBT_IMPORT_MAX_BYTES = _env_int("BBT_IMPORT_MAX_MB", 200, minimum=1) * 1024 * 1024
BBT_RESOURCE_MAX_BYTES = _env_int("BBT_RESOURCE_MAX_MB", 2048, minimum=1) * 1024 * 1024
# Keep on the same file system as MEDIA_ROOT so finished uploads move into place by an atomic rename.
BBT_UPLOAD_TEMP_DIR = os.environ.get("BBT_UPLOAD_TEMP_DIR", "")  # default: MEDIA_ROOT/.partial
# nginx serves downloads, e.g. "/protected-media/" mapped by an internal location to MEDIA_ROOT.
BBT_X_ACCEL_PREFIX = os.environ.get("BBT_X_ACCEL_PREFIX", "")
if os.environ.get("BBT_S3_BUCKET"):
    # S3-compatible object storage (MinIO, Ceph) for resource files: pip install '.[s3]'.
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": os.environ["BBT_S3_BUCKET"],
                "endpoint_url": os.environ.get("BBT_S3_ENDPOINT_URL") or None,
                "access_key": os.environ.get("BBT_S3_ACCESS_KEY", ""),
                "secret_key": os.environ.get("BBT_S3_SECRET_KEY", ""),
                "default_acl": None,
                "querystring_auth": True,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# --- Audit ----------------------------------------------------------------------------------
BBT_AUDIT_RETENTION_DAYS = _env_int("BBT_AUDIT_RETENTION_DAYS", 180, minimum=180)

# --- Logging: no external services; masked personal data is the caller's job -------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BBT_LOG_LEVEL", "WARNING")},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
