"""dishka provider of the tools slice's services."""

from dishka import Provider, Scope, provide

from center_api.usage.reports import UsageService


class ToolsProvider(Provider):
    """Services of the tools slice."""

    usage_service = provide(UsageService, scope=Scope.REQUEST)
