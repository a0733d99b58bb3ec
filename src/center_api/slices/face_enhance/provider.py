"""dishka provider of the face enhancement slice's services."""

from dishka import Provider, Scope, provide

from center_api.slices.face_enhance.service import FaceEnhanceService


class FaceEnhanceProvider(Provider):
    """Services of the face enhancement slice."""

    face_enhance_service = provide(FaceEnhanceService, scope=Scope.REQUEST)
