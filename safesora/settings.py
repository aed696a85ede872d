"""Settings, all from the environment.

With nothing set, the embedded default runs: a SQLite file and media under ./data, Celery
tasks executed in-process. Set DATABASE_URL and CELERY_BROKER_URL to run as production does.
See docs/configuration.md for every variable.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


DATA_DIR = Path(os.environ.get("SAFESORA_DATA_DIR") or BASE_DIR / "data").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG")


def _local_secret_key() -> str:
    """The embedded default keeps a random key in the data folder; production sets SECRET_KEY."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # serves Swagger UI's files itself (no CDN) for /api/docs
    "health_check",
    "safesora",
    "generation",
    "annotation",
    "exports",
    "moderation",
    "crowd",
    "preference",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "safesora.inputs.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "safesora.middleware.CSPMiddleware",  # django-csp's, with the policy built once
    "safesora.middleware.no_store_api",
    # Last: turns a login refused by the lockout into its 429 page (docs/security.md).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "safesora.urls"
WSGI_APPLICATION = "safesora.wsgi.application"

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
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user@host:5432/name) or the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        # Off by default: a health check costs a round trip per request on the hot next/submit path;
        # after a database restart one request per stale connection fails, then it reconnects.
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django opens psycopg connections with prepare_threshold None, which also ignores
    # prepare=True; a threshold never reached keeps automatic preparing off while the engine's
    # hot statements (safesora.db.fetch_prepared) are prepared on the server.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)
    # Those statements are index lookups whatever their parameters, so one generic plan per
    # connection serves them all; by default PostgreSQL replans them each call (1.2 ms of the
    # claim's 2.5). Autovacuum's ANALYZE replans them as the tables grow (docs/assignment.md).
    if plan_cache_mode := os.environ.get("DB_PLAN_CACHE_MODE", "force_generic_plan"):
        DATABASES["default"]["OPTIONS"].setdefault("options", f"-c plan_cache_mode={plan_cache_mode}")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections buy nothing for a local file, and SQLite wants a busy timeout
    # so the demo's server and in-process tasks can share it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "static")
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True

# Media: local disk by default; any S3-compatible store when S3_BUCKET is set. Media is never
# served publicly: views check permission and then stream the file or redirect to a short-lived
# signed URL (see annotation.media).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or DATA_DIR / "media").resolve()
MEDIA_URL = "/media/"
S3_BUCKET = os.environ.get("S3_BUCKET", "")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "access_key": os.environ.get("S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env_int("MEDIA_URL_EXPIRE_SECONDS", 300),
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Celery: no broker configured means tasks run in-process (the embedded default).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Never connected to: eager tasks still make a producer, and with no URL kombu warns
    # "No hostname was supplied" on every task.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after this many seconds: it must exceed the
# longest generation job, or a slow job would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)}
CELERY_TASK_ROUTES = {
    "exports.*": {"queue": "cpu"},
    "moderation.tasks.train_*": {"queue": "train"},
    "preference.*": {"queue": "cpu"},
}

# Celery task names run with a new video's id once it exists (generation calls them; moderation
# registers its screening task here). Explicit, so nothing happens behind a signal.
VIDEO_CREATED_TASKS: list[str] = ["moderation.tasks.screen_video"]

# Moderation training runs (checkpoints, artifacts, reports) live here; see docs/moderation.md.
MODERATION_DIR = Path(os.environ.get("MODERATION_DIR") or DATA_DIR / "moderation").resolve()
# One prepared input (frames or frozen-encoder features) per clip, read by moderation and preference models.
FEATURE_CACHE_DIR = Path(os.environ.get("FEATURE_CACHE_DIR") or DATA_DIR / "features").resolve()
# Reward and cost model runs (docs/preference.md).
PREFERENCE_DIR = Path(os.environ.get("PREFERENCE_DIR") or DATA_DIR / "preference").resolve()

# Generation workers (docs/workers.md).
# Jobs of one generator sent to a worker in one message and run in one pipeline call, where the
# family supports batched calls (others run the batch's jobs one by one).
GENERATION_BATCH_SIZE = env_int("GENERATION_BATCH_SIZE", 4)
# A job runs at most this many times: transient errors are retried with backoff, and a job whose
# worker died is run again, until then.
GENERATION_MAX_ATTEMPTS = env_int("GENERATION_MAX_ATTEMPTS", 5)
# Seconds before the first retry after a transient error; doubled on each retry (at most 10 min).
GENERATION_RETRY_BACKOFF = env_int("GENERATION_RETRY_BACKOFF", 15)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                "axes": {"level": "WARNING"},  # failed logins and lockouts; not every success
                # Cache errors ignored during a Redis outage: one every 10 s, not one per request.
                "safesora.cache": {"filters": ["once_per_10s"]}},
    "filters": {"once_per_10s": {"()": "safesora.logs.OncePerInterval", "seconds": 10}},
}

# django-axes first: it refuses a locked-out username before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "safesora.auth.UserBackend"]
SESSION_COOKIE_HTTPONLY = True
# HTTPS (docs/security.md). Cookies are Secure unless DEBUG is on (browsers accept Secure cookies
# from http://localhost, so the local demo still logs in).
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SECURE_REDIRECT_EXEMPT = [r"^health/"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
# Behind a TLS proxy: the header it sets for https requests, e.g. X-Forwarded-Proto (value "https").
if _proxy_ssl_header := os.environ.get("SECURE_PROXY_SSL_HEADER", ""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from this site's own files, no inline script.
# Inline style attributes stay allowed (the Django admin uses them). Media may come from the S3 store.
_media_origins = env_list("CSP_MEDIA_ORIGINS", "")
if os.environ.get("S3_BUCKET"):
    from urllib.parse import urlsplit

    _endpoint = urlsplit(os.environ.get("S3_ENDPOINT_URL") or "https://s3.amazonaws.com")
    _media_origins += [f"{_endpoint.scheme}://{_endpoint.netloc}", f"{_endpoint.scheme}://*.{_endpoint.netloc}"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *_media_origins],
        "media-src": ["'self'", *_media_origins],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Optional prompt refiner run before generation (docs/generators.md). Empty: off. A dotted path to a
# callable refine(text) -> str, or to a class built with PROMPT_REFINER_OPTIONS (a JSON object), e.g.
# PROMPT_REFINER=generation.refiner.TransformersRefiner PROMPT_REFINER_OPTIONS='{"model": "/models/qwen"}'.
PROMPT_REFINER = os.environ.get("PROMPT_REFINER", "")
try:
    PROMPT_REFINER_OPTIONS = json.loads(os.environ.get("PROMPT_REFINER_OPTIONS") or "{}")
except json.JSONDecodeError as _error:
    raise ImproperlyConfigured(f"PROMPT_REFINER_OPTIONS must be a JSON object: {_error}") from None
if not isinstance(PROMPT_REFINER_OPTIONS, dict):
    raise ImproperlyConfigured("PROMPT_REFINER_OPTIONS must be a JSON object")

# Exports: each release is a folder here (see docs/exports.md). HF_TOKEN (read by huggingface_hub)
# enables `manage.py export --push-to-hub`.
EXPORTS_ROOT = Path(os.environ.get("EXPORTS_ROOT") or DATA_DIR / "exports").resolve()
# A running export records the time every EXPORT_HEARTBEAT_SECONDS; one silent for
# EXPORT_DEAD_AFTER_SECONDS is taken as dead from any machine (on its own machine, as soon as
# its process is gone). See docs/reliability.md.
EXPORT_HEARTBEAT_SECONDS = env_int("EXPORT_HEARTBEAT_SECONDS", 10)
EXPORT_DEAD_AFTER_SECONDS = env_int("EXPORT_DEAD_AFTER_SECONDS", 120)

# Limits on imported input (docs/configuration.md): prompt files, prompt text, video files.
PROMPT_IMPORT_MAX_BYTES = env_int("PROMPT_IMPORT_MAX_BYTES", 100 * 1024 * 1024)  # file, and content after gunzip
PROMPT_MAX_CHARS = env_int("PROMPT_MAX_CHARS", 4000)
VIDEO_MAX_BYTES = env_int("VIDEO_MAX_BYTES", 512 * 1024 * 1024)
VIDEO_MAX_SIDE = env_int("VIDEO_MAX_SIDE", 4096)  # pixels, width and height each
VIDEO_MAX_SECONDS = env_int("VIDEO_MAX_SECONDS", 600)
# Manifest paths of import_videos resolve under the manifest's folder, or under this root when set.
VIDEO_IMPORT_ROOT = Path(os.environ["VIDEO_IMPORT_ROOT"]).resolve() if os.environ.get("VIDEO_IMPORT_ROOT") else None

# The review queue lists complete pairs whose mean majority share is below this (or that have a
# tied question); reviewers can change it per visit (annotation.quality.review_queue).
try:
    REVIEW_AGREEMENT_THRESHOLD = float(os.environ.get("REVIEW_AGREEMENT_THRESHOLD") or 0.8)
except ValueError:
    raise ImproperlyConfigured("REVIEW_AGREEMENT_THRESHOLD must be a number between 0 and 1") from None

# Cache (login attempt counters, among others): Redis when CACHE_URL (or REDIS_URL) is set, so
# every web process shares it; otherwise per-process memory, enough for the one-process demo.
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL", "")
# django-redis: one client per connection pool, and with IGNORE_EXCEPTIONS a Redis outage is a
# cache miss (logged), not a 500: sessions then come from the database (docs/reliability.md).
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CACHE_URL,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": env_bool("CACHE_IGNORE_EXCEPTIONS", True),
            # Bounded waits: an unreachable Redis must not hold a request for the OS's TCP timeout.
            "SOCKET_CONNECT_TIMEOUT": env_int("CACHE_CONNECT_TIMEOUT_MS", 500) / 1000,
            "SOCKET_TIMEOUT": env_int("CACHE_TIMEOUT_MS", 1000) / 1000,
        },
    }
    if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "safesora.cache"
# Sessions are read from the shared cache, written through to the database: one cache read per
# request instead of a database query. Only with a shared cache: a per-process one would keep a
# logged-out session alive in the other processes. safesora.sessions also forgets, once Redis is
# back, the cached copies of sessions changed or ended while it was down.
SESSION_ENGINE = "safesora.sessions" if CACHE_URL else "django.contrib.sessions.backends.db"
# Failed logins allowed per username and client address within the window (seconds), counted by
# django-axes in the database (so the limit holds while Redis is down); see docs/security.md.
LOGIN_ATTEMPTS_LIMIT = env_int("LOGIN_ATTEMPTS_LIMIT", 5)
LOGIN_ATTEMPTS_WINDOW = env_int("LOGIN_ATTEMPTS_WINDOW", 900)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = "safesora.login.failure_limit"
AXES_COOLOFF_TIME = "safesora.login.cool_off"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "safesora.login.resolved_username"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # locked until the window ends, not longer
AXES_LOCKOUT_CALLABLE = "safesora.login.lockout_response"
AXES_ENABLE_ADMIN = True
# The client address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the X-Forwarded-For entry they added.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "safesora.login.client_address"

# API tokens stop working this many days after they are issued; 0: they do not expire. A password
# change or deactivation ends them either way (safesora.models.ApiToken).
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 0)

# Periodic tasks (the `beat` service). The claim path also releases expired leases, so the
# engine does not depend on beat running.
CELERY_BEAT_SCHEDULE = {
    "release-expired-leases": {"task": "annotation.tasks.release_expired_leases", "schedule": 60.0},
}
