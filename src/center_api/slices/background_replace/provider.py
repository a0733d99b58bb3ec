"""dishka provider of the background_replace slice's services."""

from dishka import Provider, Scope, provide

from center_api.slices.background_replace.service import BackgroundReplaceService


class BackgroundReplaceProvider(Provider):
    """Services of the background_replace slice."""

    background_replace_service = provide(BackgroundReplaceService, scope=Scope.REQUEST)
