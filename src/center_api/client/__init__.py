"""A Python client for a Center API server, sync (`Client`) and async (`AsyncClient`), on httpx.

It talks HTTP only and imports nothing else of the package, so it works against any server,
local or remote::

    from center_api.client import Client

    with Client("http://127.0.0.1:8000", api_key="ck_…") as client:
        result = client.remove_background("photo.jpg", format="webp")
        result.save("out.webp")

An image is a path, bytes, or an ``http(s)://`` URL (the server fetches it). Options are the
route's own form fields. A failed call raises `ApiError` with the server's error code.

May import: nothing else of `center_api` (httpx only), so it works wherever httpx does.
"""

from center_api.client.api import ApiError, AsyncClient, Client, Result

__all__ = ["ApiError", "AsyncClient", "Client", "Result"]
