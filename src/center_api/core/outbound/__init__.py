"""Outbound HTTP under one URL policy: ``image_url``, ``background_url``, callbacks, redirects.

`policy` decides which URLs may be reached (strict parsing, public addresses only); `fetch` GETs
and POSTs under it. Part of `core`: imports nothing of `center_api` outside `core`.
"""

from center_api.core.outbound.fetch import fetch_bytes, post_json
from center_api.core.outbound.policy import check_url, is_public, parse_url

__all__ = ["check_url", "fetch_bytes", "is_public", "parse_url", "post_json"]
