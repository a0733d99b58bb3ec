"""``python -m center_api`` is the ``center-api`` command."""

from center_api.bootstrap.cli.main import cli

cli()
