"""Typed settings: defaults, then `litestar.toml`, then ``.env``, then environment variables.

The file is the project's own config file (Litestar itself does not read it). Every key can be
overridden from the environment as ``CENTER_API__SECTION__KEY`` (e.g.
``CENTER_API__IMAGES__MAX_MEGAPIXELS=60``); the original spec's short names (``HOST``, ``PORT``,
``DATABASE_URL`` …) and the design's (``API_HOST``, ``API_PORT``, ``MAX_WORKERS``,
``TASK_TIMEOUT``, ``REDIS_URL``) work as written. A bad value, or an unknown ``CENTER_API__``
variable, stops startup with a message naming it (see `settings_sources`).
"""

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from center_api.core.settings_sources import (
    SettingsError,
    SettingsSources,
    gather,
    key_parts,
)

# Every API route lives under this versioned prefix (health, slices, tasks); /metrics and
# /schema stay outside it.
API_PREFIX = "/api/v1"

PositiveInt = Annotated[int, Meta(ge=1)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
PositiveFloat = Annotated[float, Meta(gt=0)]


class ServerSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """HTTP server: bind address, worker processes, request limits."""

    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    workers: PositiveInt = 1
    max_request_bytes: PositiveInt = 30 * 1024 * 1024
    debug: bool = False
    # all: HTTP + task workers; api: HTTP, enqueues only; worker: runs tasks, no HTTP.
    role: Literal["all", "api", "worker"] = "all"


class InferenceSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """The shared inference kernel: slots, wait queue, ONNX Runtime threading."""

    max_concurrent: PositiveInt = 2
    thread_pool_size: PositiveInt = 2
    queue_max_size: NonNegativeInt = 100
    # 0 = choose so that slots x intra-op threads <= cores.
    intra_op_threads: NonNegativeInt = 0
    providers: list[str] = msgspec.field(default_factory=lambda: ["CPUExecutionProvider"])
    session_idle_ttl_s: PositiveFloat = 900.0
    max_loaded_sessions: PositiveInt = 4
    # Retry-After is computed from the queue and the recent time per job; this is the time
    # per job assumed before any has run.
    retry_after_s: PositiveInt = 2
    # A request that waited this long for a slot is answered 503 SERVICE_OVERLOADED.
    max_queue_wait_s: PositiveFloat = 30.0
    # A job running longer is stopped and its caller answered 504 TIMEOUT.
    timeout_s: PositiveFloat = 120.0
    # Jobs run at once only while their estimated peak memory fits in this budget (a job
    # bigger than the whole budget runs alone); the estimate is the input's megapixels
    # (from its header, before decoding) times memory_mb_per_megapixel.
    memory_budget_mb: PositiveInt = 1536
    # Measured at size=full (bench/memory.py): at most ~13 MB per MP at 40 MP on every slice.
    memory_mb_per_megapixel: PositiveFloat = 14.0
    warm_up: bool = False
    # ORT's memory arena keeps each run's activations allocated for the next run. "auto": on
    # for models with a small fixed input (<= 512x512: bounded, u2netp ~300 MB per slot), off
    # for the others (an arena would stay at the largest image seen, or hold gigabytes).
    # Without it every run maps and faults in fresh pages: ~30 % more CPU per u2netp run.
    cpu_mem_arena: bool | Literal["auto"] = "auto"


class ImageSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Limits applied before an upload is fully decoded, and encoder settings."""

    max_bytes: PositiveInt = 25 * 1024 * 1024
    max_megapixels: PositiveFloat = 40.0
    allowed_formats: list[str] = msgspec.field(
        default_factory=lambda: ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"]
    )
    preview_megapixels: PositiveFloat = 0.25
    # size=auto keeps full resolution up to this many megapixels, then scales down.
    auto_max_megapixels: PositiveFloat = 12.0
    png_compress_level: Annotated[int, Meta(ge=0, le=9)] = 1
    jpeg_quality: Annotated[int, Meta(ge=1, le=100)] = 90
    webp_quality: Annotated[int, Meta(ge=1, le=100)] = 90


class FetchSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Fetching client-named URLs (``image_url``, callbacks) without becoming an SSRF proxy."""

    # Private, loopback, link-local and other non-public addresses are refused unless true.
    allow_private_networks: bool = False
    timeout_s: PositiveFloat = 10.0
    max_redirects: NonNegativeInt = 3
    user_agent: str = "center-api (+image fetch)"


class ModelSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Where model weights and the manifest live."""

    dir: str = "model_store"
    pull_timeout_s: PositiveFloat = 600.0


class DatabaseSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Database connection (SQLite by default, PostgreSQL by URL)."""

    url: str = "sqlite+aiosqlite:///./data/app.db"
    pool_size: PositiveInt = 5
    # `center-api serve` applies pending migrations before it starts serving.
    migrate_on_start: bool = True


class TaskSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """The asynchronous task API: workers, limits, retries, result lifetime."""

    workers: PositiveInt = 2
    max_pending: PositiveInt = 1000
    max_batch: PositiveInt = 100
    default_timeout_s: PositiveFloat = 300.0
    max_attempts: PositiveInt = 3
    retry_backoff_s: PositiveFloat = 1.0
    result_ttl_s: PositiveFloat = 86_400.0
    results_dir: str = "./data/results"
    # A running task's row is touched every ``heartbeat_s``. On a shared queue every process
    # looks that often for PROCESSING rows untouched for ``stale_after_s`` (their worker died)
    # and puts them back in the queue.
    heartbeat_s: PositiveFloat = 10.0
    stale_after_s: PositiveFloat = 60.0
    # How often expired inputs and results are deleted.
    sweep_interval_s: PositiveFloat = 300.0
    # Callbacks are signed with HMAC-SHA256 of this secret (X-Center-Signature); empty: unsigned.
    webhook_secret: str | None = ""
    # A callback answered 5xx, or timing out, is sent again with doubling delays, at most
    # ``webhook_max_attempts`` times and never later than ``webhook_max_total_s`` after the first.
    webhook_max_attempts: PositiveInt = 4
    webhook_backoff_s: PositiveFloat = 1.0
    webhook_max_total_s: PositiveFloat = 60.0

    def __post_init__(self) -> None:
        """A live worker must get at least two heartbeats in before its row counts as stale."""
        if self.stale_after_s < 2 * self.heartbeat_s:
            raise ValueError("stale_after_s must be at least twice heartbeat_s")


class QueueSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Where tasks wait: in-process (empty url, one node) or SAQ on Redis (many nodes)."""

    # Empty (or unset: QUEUE_URL= reads as null) means in-process; redis://… means SAQ.
    url: str | None = ""
    # Prefix of the SAQ queue names; deployments sharing one Redis need different names.
    name: str = "center-api"


class StorageSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Where task inputs and results live: a local directory or an S3-compatible bucket."""

    # Empty (or unset) = the directory ``tasks.results_dir``; s3://bucket?endpoint=…&region=…
    # = S3 (needs the scale extra; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
    # or the query's access_key_id/secret_access_key).
    url: Annotated[str, Meta(pattern=r"^(s3://.+)?$")] | None = ""


class UsageSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Usage records: written in batches off the response path."""

    flush_interval_s: PositiveFloat = 1.0
    max_buffered: PositiveInt = 100_000


class CacheSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Results by content: ``memory`` (LRU per process), ``redis`` (shared) or ``off``."""

    backend: Literal["memory", "redis", "off"] = "memory"
    max_mb: PositiveInt = 256  # memory: the LRU's size; redis: the largest value kept
    url: str | None = ""  # redis: "" = the queue's Redis; ttl_s: how long an entry lives there
    ttl_s: PositiveInt = 86_400
    charge_hits: bool = True  # false: a hit's quota is given back (its usage row stays)
    tasks: bool = True  # tasks look up and keep results too


class LoggingSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Log level and format; ``json=None`` means JSON off a TTY, readable on one."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    json: bool | None = None


class AuthSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Who may call: ``open`` (anyone; loopback use) or ``api_key`` (``X-API-Key`` required)."""

    mode: Literal["open", "api_key"] = "open"
    # api_key mode: true lets anyone scrape /metrics; false needs an admin key (Prometheus can
    # send it as a bearer token).
    public_metrics: bool = False
    # Signs the short-lived WebSocket tokens of tasks (HMAC); empty: a random one per process
    # (set it when several API processes serve one address).
    task_token_secret: str | None = ""


class RateLimitSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Requests per minute: per client address in open mode, per key in api_key mode."""

    enabled: bool = True
    per_address_per_minute: PositiveInt = 600
    # For keys created without their own ``--rate``.
    per_key_per_minute: PositiveInt = 600


class CorsSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Cross-origin browser access (off unless enabled)."""

    enabled: bool = False
    allow_origins: list[str] = msgspec.field(default_factory=list)
    allow_methods: list[str] = msgspec.field(
        default_factory=lambda: ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
    )
    allow_headers: list[str] = msgspec.field(
        default_factory=lambda: ["X-API-Key", "Authorization", "Content-Type", "X-Request-ID"]
    )
    allow_credentials: bool = False
    max_age: NonNegativeInt = 600


class RegistrySettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Slice discovery: built-ins only, and whether a failed slice stops startup."""

    builtins_only: bool = False
    strict: bool = False


class SliceSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """Per-slice switch (``None``: built-ins on, third-party off); ``config``: a plugin's own."""

    enabled: bool | None = None
    config: dict[str, Any] = msgspec.field(default_factory=dict)


class PipelineSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``[pipelines.<name>]``: steps as a request sends them; called as ``steps: "<name>"``."""

    steps: list[dict[str, Any]]
    description: str = ""


class Settings(Struct, forbid_unknown_fields=True, kw_only=True):
    """All settings of one process."""

    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    inference: InferenceSettings = msgspec.field(default_factory=InferenceSettings)
    images: ImageSettings = msgspec.field(default_factory=ImageSettings)
    models: ModelSettings = msgspec.field(default_factory=ModelSettings)
    fetch: FetchSettings = msgspec.field(default_factory=FetchSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    usage: UsageSettings = msgspec.field(default_factory=UsageSettings)
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    tasks: TaskSettings = msgspec.field(default_factory=TaskSettings)
    queue: QueueSettings = msgspec.field(default_factory=QueueSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    registry: RegistrySettings = msgspec.field(default_factory=RegistrySettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    cors: CorsSettings = msgspec.field(default_factory=CorsSettings)
    slices: dict[str, SliceSettings] = msgspec.field(default_factory=dict)
    pipelines: dict[str, PipelineSettings] = msgspec.field(default_factory=dict)


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_file: str | Path | None = None,
) -> Settings:
    """Build settings from defaults, the config file, ``.env`` and the environment.

    Args:
        config_file: TOML file to read; defaults to ``$CENTER_API_CONFIG`` or ``litestar.toml``
            (a missing default file is fine, a missing explicit one is an error).
        environ: Environment to read overrides from; defaults to ``os.environ``.
        dotenv_file: ``.env`` file read before the environment (which wins); defaults to
            ``.env`` in the working directory when ``environ`` is not given, else none.

    Raises:
        SettingsError: On unreadable TOML or ``.env``, an unknown ``CENTER_API__`` variable or
            a value that fails validation.
    """
    return load_settings_with_sources(config_file, environ, dotenv_file)[0]


def load_settings_with_sources(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_file: str | Path | None = None,
) -> tuple[Settings, SettingsSources]:
    """`load_settings`, and where every overridden value came from."""
    data, sources = gather(Settings, config_file, environ, dotenv_file)
    names = {key: name for key, (name, _) in sources.variables.items()}
    return settings_from_mapping(data, names), sources


# The backends outside the default install, and the optional extra that brings each.
_EXTRA_MODULES = {"queue": ("saq", "redis"), "storage": ("obstore",)}


def check_backends_installed(settings: Settings) -> None:
    """Fail early, and clearly, when a configured backend's packages are not installed.

    Raises:
        SettingsError: ``QUEUE_URL`` (SAQ on Redis) or an ``s3://`` ``STORAGE_URL`` without the
            ``scale`` extra.
    """
    wanted = {
        "queue": bool(settings.queue.url),
        "storage": bool(settings.storage.url and settings.storage.url.startswith("s3://")),
    }
    for section, modules in _EXTRA_MODULES.items():
        missing = [m for m in modules if wanted[section] and importlib.util.find_spec(m) is None]
        if missing:
            variable = "QUEUE_URL" if section == "queue" else "STORAGE_URL"
            raise SettingsError(
                f"{variable} needs the scale extra ({', '.join(missing)} not installed): "
                "pip install 'center-api[scale]'"
            )


def settings_from_mapping(
    data: Mapping[str, Any], sources: Mapping[tuple[str, ...], str] | None = None
) -> Settings:
    """Validate a nested mapping into `Settings`, naming the offending key on error."""
    try:
        return msgspec.convert(data, Settings, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        key = message.rsplit("at `$.", 1)[-1].rstrip("`") if "at `$." in message else ""
        origin = (sources or {}).get(tuple(key_parts(key)))
        where = f" (from environment variable {origin})" if origin else ""
        raise SettingsError(f"invalid setting {key or '<root>'}{where}: {message}") from exc
