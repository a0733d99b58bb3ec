"""Repository of usage rows (advanced-alchemy)."""

from advanced_alchemy.repository import SQLAlchemyAsyncRepository

from center_api.db.models import ToolUsage


class ToolUsageRepository(SQLAlchemyAsyncRepository[ToolUsage]):
    """CRUD and filtered listing of `ToolUsage`."""

    model_type = ToolUsage
