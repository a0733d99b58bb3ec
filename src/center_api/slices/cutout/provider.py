"""dishka provider of the cutout slice's services."""

from dishka import Provider, Scope, provide

from center_api.slices.cutout.service import CutoutService


class CutoutProvider(Provider):
    """Services of the cutout slice."""

    cutout_service = provide(CutoutService, scope=Scope.REQUEST)
