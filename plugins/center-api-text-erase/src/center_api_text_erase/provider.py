"""dishka provider of the text_erase slice's services."""

from center_api import sdk
from center_api_text_erase.service import TextEraseService


class TextEraseProvider(sdk.Provider):
    """Services of the text_erase slice."""

    text_erase_service = sdk.provide(TextEraseService, scope=sdk.Scope.REQUEST)
