"""ORM models (advanced-alchemy audit bases: UUIDv7 ids, created_at/updated_at in UTC).

Part of `db`: may import `core`.
"""

from center_api.db.models.api_key import ApiKey
from center_api.db.models.rating import ResultRating
from center_api.db.models.task import ProcessingTask
from center_api.db.models.usage import ToolUsage

__all__ = ["ApiKey", "ProcessingTask", "ResultRating", "ToolUsage"]
