"""Make sure a slice's models are in the model store before its tests run."""

from pathlib import Path

from center_api.kernel.model_store import ModelStore
from center_api.registry.spec import Slice
from center_api.testing.apps import project_model_dir


def ensure_models(plugin: Slice, model_dir: Path | None = None) -> Path:
    """Pull the required models of ``plugin`` (its own ``model_specs`` too) if missing.

    Returns the model store's directory. Raises `ModelPullError` when a download fails.
    """
    directory = model_dir or project_model_dir()
    store = ModelStore.from_directory(directory)
    store.add(plugin.model_specs)
    for requirement in plugin.models:
        if requirement.required and not store.is_installed(requirement.id):
            store.pull(requirement.id)
    return directory
