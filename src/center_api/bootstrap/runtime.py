"""The process-wide pieces (settings, metrics, models, slices, database, usage) and the container.

Shared by the HTTP app, the worker role and the one-shot CLI commands.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from dishka import STRICT_VALIDATION, AsyncContainer, Provider, make_async_container
from dishka.integrations.litestar import LitestarProvider

from center_api.bootstrap.providers import (
    CoreProvider,
    DatabaseProvider,
    KernelProvider,
    TaskProvider,
)
from center_api.core.metrics import Metrics
from center_api.core.settings import Settings, check_backends_installed
from center_api.db.config import build_db_config
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import EntryPointSource, SliceRegistry, discover_slices
from center_api.usage.recorder import UsageRecorder


@dataclass(frozen=True)
class Runtime:
    """The process-wide pieces the container is built from."""

    settings: Settings
    metrics: Metrics
    store: ModelStore
    registry: SliceRegistry
    db_config: SQLAlchemyAsyncConfig
    usage: UsageRecorder


def build_runtime(settings: Settings, entry_points: EntryPointSource | None = None) -> Runtime:
    """Read the manifest, discover slices, configure the database (all cheap).

    Raises:
        SettingsError: A configured backend's packages are not installed.
    """
    check_backends_installed(settings)
    store = ModelStore.from_directory(Path(settings.models.dir))
    db_config = build_db_config(settings.database)
    return Runtime(
        settings=settings,
        metrics=Metrics(),
        store=store,
        registry=discover_slices(settings, store, entry_points),
        db_config=db_config,
        usage=UsageRecorder(db_config, settings.usage),
    )


def build_container(runtime: Runtime, extra_providers: Sequence[Provider] = ()) -> AsyncContainer:
    """The dishka container: core, kernel, every mounted slice, then ``extra_providers``."""
    return make_async_container(
        CoreProvider(),
        DatabaseProvider(),
        KernelProvider(),
        TaskProvider(),
        LitestarProvider(),
        *[p for s in runtime.registry.mounted() for p in s.providers()],
        *extra_providers,
        context={
            Settings: runtime.settings,
            Metrics: runtime.metrics,
            SliceRegistry: runtime.registry,
            ModelStore: runtime.store,
            SQLAlchemyAsyncConfig: runtime.db_config,
            UsageRecorder: runtime.usage,
        },
        validation_settings=STRICT_VALIDATION,
    )
