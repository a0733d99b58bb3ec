"""dishka providers of the core: settings, metrics, registry, database config, health, caller."""

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from dishka import Provider, Scope, from_context, provide
from litestar import Request

from center_api.auth.keys import ANONYMOUS_PRINCIPAL, Principal, principal_of
from center_api.core.metrics import Metrics
from center_api.core.settings import Settings
from center_api.http.health import HealthService
from center_api.kernel.model_store import ModelStore
from center_api.registry.loader import SliceRegistry
from center_api.usage.recorder import UsageRecorder


class CoreProvider(Provider):
    """Process-wide objects built by the composition root and passed in as context."""

    scope = Scope.APP

    settings = from_context(provides=Settings)
    metrics = from_context(provides=Metrics)
    registry = from_context(provides=SliceRegistry)
    model_store = from_context(provides=ModelStore)
    db_config = from_context(provides=SQLAlchemyAsyncConfig)
    usage = from_context(provides=UsageRecorder)

    health = provide(HealthService, scope=Scope.REQUEST)

    @provide(scope=Scope.REQUEST)
    def principal(self, request: Request) -> Principal:
        """The caller the security gate admitted (anonymous if none was established)."""
        return principal_of(request.scope) or ANONYMOUS_PRINCIPAL
