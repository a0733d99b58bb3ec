"""The try-it page at ``/``: plain HTML, CSS and JS shipped in the package, no CDN.

It calls the API from the browser like any client. Its answers carry their own
Content-Security-Policy, which allows this server's scripts, styles, images made in the page
(``blob:``) and API calls, and nothing else; every other answer keeps the API's
``default-src 'none'``.

May import: `core`, `auth` (route access markers). `bootstrap` mounts its router.
"""

from importlib.resources import files
from typing import Any

from litestar import Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from center_api.auth.access import PUBLIC

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_MEDIA_TYPES = {
    "index.html": "text/html",
    "app.css": "text/css",
    "app.js": "text/javascript",
}


def _asset(name: str) -> Response[bytes]:
    if name not in _MEDIA_TYPES:  # a fixed list: no path from the request reaches the disk
        raise NotFoundException(f"No file {name!r} here.")
    content = files(__package__).joinpath("static", name).read_bytes()
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"}
    return Response(content, media_type=_MEDIA_TYPES[name], headers=headers)


@get("/", include_in_schema=False, opt=PUBLIC)
async def page() -> Response[bytes]:
    """The try-it page."""
    return _asset("index.html")


@get("/web/{name:str}", include_in_schema=False, opt=PUBLIC)
async def asset(name: FromPath[str]) -> Response[bytes]:
    """The page's script and style sheet."""
    return _asset(name)


def build_router() -> Router:
    """The page and its files (fresh per app)."""
    handlers: list[Any] = [page, asset]
    return Router(path="/", route_handlers=handlers)
