"""Request and response plumbing shared by every route.

Owns: image sources in a form (`sources`), image and JSON answers (`responses`), paging bounds,
the outermost ASGI layer (`middleware`: request id, access log, metrics), the error envelope
handlers, health, the usage observer, and the route table (`routes`).

May import: `core`, `db`, `kernel`, `registry`, `usage` and `auth`.
"""
