"""dishka provider of the process slice's services."""

from dishka import Provider, Scope, provide

from center_api.slices.process.service import ProcessService


class ProcessProvider(Provider):
    """Services of the process slice."""

    process_service = provide(ProcessService, scope=Scope.REQUEST)
