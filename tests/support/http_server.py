"""A tiny HTTP server on 127.0.0.1 for image_url tests (real sockets, real HTTP)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serve_routes(
    routes: dict[str, tuple[int, dict[str, str], bytes]],
    posts: list[tuple[str, bytes]] | None = None,
) -> Iterator[str]:
    """Serve ``{path: (status, headers, body)}`` and record POSTs in ``posts``; yields the URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if posts is not None:
                posts.append((self.path, body))
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
