"""dishka provider of a REQUEST-scoped database session."""

from collections.abc import AsyncIterator

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from dishka import Provider, Scope, provide
from sqlalchemy.ext.asyncio import AsyncSession


class DatabaseProvider(Provider):
    """One session per request (or per task run), closed when the scope ends."""

    @provide(scope=Scope.REQUEST)
    async def session(self, config: SQLAlchemyAsyncConfig) -> AsyncIterator[AsyncSession]:
        """Open a session; whoever writes commits explicitly."""
        async with config.get_session() as session:
            yield session
