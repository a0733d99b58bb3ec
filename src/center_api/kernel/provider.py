"""dishka provider of the APP-scoped kernel pieces."""

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide

from center_api.core.metrics import Metrics
from center_api.core.settings import Settings
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.model_store import ModelStore


class KernelProvider(Provider):
    """One kernel per container (i.e. per process or app) over the app's model store."""

    scope = Scope.APP

    @provide
    async def kernel(
        self, store: ModelStore, settings: Settings, metrics: Metrics
    ) -> AsyncIterator[InferenceKernel]:
        """Build the kernel inside the running loop; closed with the container."""
        kernel = InferenceKernel(store, settings.inference, metrics)
        kernel.start()
        yield kernel
        await kernel.close()
