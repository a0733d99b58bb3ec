"""Options of the tools slice (its answers are the registry's catalog and the usage reports)."""

from msgspec import Struct


class ToolsOptions(Struct, forbid_unknown_fields=True):
    """The tools slice takes no image options."""
