"""The clients: one request builder, answered by httpx's sync or async client."""

import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
CUTOUT = "/api/v1/cutout/segment"
Image = str | Path | bytes


class ApiError(Exception):
    """The server refused or failed a call; ``code`` is its stable error code."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        """Keep what the server said."""
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


class Result:
    """An answer: the bytes, their media type and the server's ``X-*`` metadata headers."""

    def __init__(self, content: bytes, media_type: str, headers: dict[str, str]) -> None:
        """Wrap one answer."""
        self.content, self.media_type, self.headers = content, media_type, headers

    @property
    def width(self) -> int | None:
        """The result's width (``X-Width``), when the server sent it."""
        value = self.headers.get("x-width")
        return int(value) if value else None

    @property
    def height(self) -> int | None:
        """The result's height (``X-Height``), when the server sent it."""
        value = self.headers.get("x-height")
        return int(value) if value else None

    def save(self, path: str | Path) -> Path:
        """Write the bytes to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.content)
        return target


def _request(path: str, image: Image, options: dict[str, Any]) -> dict[str, Any]:
    """Httpx keyword arguments for one image call (multipart; a URL goes as ``image_url``)."""
    fields = {name: _text(value) for name, value in options.items() if value is not None}
    if isinstance(image, str) and image.startswith(("http://", "https://")):
        return {"url": path, "data": {**fields, "image_url": image}}
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    name = "image" if isinstance(image, bytes) else Path(image).name
    return {"url": path, "data": fields, "files": {"file": (name, data)}}


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _answer(response: httpx.Response) -> Result:
    if response.is_success:
        media_type = response.headers.get("content-type", "application/octet-stream")
        return Result(response.content, media_type.split(";")[0], dict(response.headers))
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    raise ApiError(
        response.status_code,
        str(error.get("code", "HTTP_ERROR")),
        str(error.get("message", response.reason_phrase)),
        error.get("details"),
    )


def _connection(url: str | None, api_key: str | None, timeout: float) -> dict[str, Any]:
    """Httpx client arguments: the server (``$CENTER_API_URL``), the key, the timeout."""
    base = url or os.environ.get("CENTER_API_URL") or DEFAULT_URL
    key = api_key or os.environ.get("CENTER_API_KEY")
    headers = {"X-API-Key": key} if key else {}
    return {"base_url": base.rstrip("/"), "headers": headers, "timeout": timeout}


class Client:
    """The sync client; ``url``, ``api_key`` default to ``$CENTER_API_URL``, ``$CENTER_API_KEY``."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Open a connection pool (close it with `close` or a ``with`` block)."""
        self._http = httpx.Client(transport=transport, **_connection(url, api_key, timeout))

    def call(self, path: str, image: Image, **options: Any) -> Result:
        """POST ``image`` and ``options`` to any image route (``/api/v1/face-enhance/enhance``…).

        Raises:
            ApiError: the server answered an error (its code, message and details).
            httpx.HTTPError: the server could not be reached.
        """
        return _answer(self._http.post(**_request(path, image, options)))

    def remove_background(self, image: Image, **options: Any) -> Result:
        """Cut out the subject (``/api/v1/cutout/segment``); options as that route's fields."""
        return self.call(CUTOUT, image, **options)

    def tools(self) -> Any:
        """The server's tool catalog (``GET /api/v1/tools``)."""
        response = self._http.get("/api/v1/tools")
        _answer(response)
        return response.json()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        """Use in a ``with`` block."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving the block."""
        self.close()


class AsyncClient:
    """The async client: the same calls, awaited; share one for many concurrent calls."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Open a connection pool (close it with `aclose` or an ``async with`` block)."""
        self._http = httpx.AsyncClient(transport=transport, **_connection(url, api_key, timeout))

    async def call(self, path: str, image: Image, **options: Any) -> Result:
        """POST ``image`` and ``options`` to any image route.

        Raises:
            ApiError: the server answered an error.
            httpx.HTTPError: the server could not be reached.
        """
        return _answer(await self._http.post(**_request(path, image, options)))

    async def remove_background(self, image: Image, **options: Any) -> Result:
        """Cut out the subject (``/api/v1/cutout/segment``)."""
        return await self.call(CUTOUT, image, **options)

    async def tools(self) -> Any:
        """The server's tool catalog."""
        response = await self._http.get("/api/v1/tools")
        _answer(response)
        return response.json()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        """Use in an ``async with`` block."""
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close on leaving the block."""
        await self.aclose()
