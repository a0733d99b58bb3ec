"""The composition root: the only package that knows every other one.

Owns: `app` (``create_app``: the HTTP app), `runtime` (the process-wide pieces and the dishka
container), `providers` (the dishka providers), `worker` (the worker role) and `cli` (the
``center-api`` command). Nothing is imported here, so the command starts fast.

May import: everything.
"""
