"""The built-in slices, written like plugins: each found through the same entry points.

Each ``slices/<name>/`` owns its router, service, schemas, provider and its own image code.
May import: `center_api.sdk` and the slice's own package only (the tools slice may also read
`registry` and `usage`).
"""
