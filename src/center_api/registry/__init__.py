"""The slice registry: the contract a slice fulfils, and finding the installed ones.

Owns: `spec` (the `Slice` contract, versioned by `API_VERSION`), `loader` (entry points,
validation, config toggles, fail-soft), `toggles` (the stand-in routes of a switched-off slice)
and `catalog` (every installed slice with its status, routes and models).

May import: `core` and `kernel`.
"""
