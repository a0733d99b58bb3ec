"""The ``center-api`` command: serve, db, keys, models, plugins, and one-shot image commands.

Part of `bootstrap`: may import anything; heavy imports stay inside the commands that need them.
"""
