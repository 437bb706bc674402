"""Opaque, signed cursors for kiosk search pages.

A kiosk page is a window into Meilisearch's ranked answer, so the cursor names an offset, the matching
strategy that answered the first page (a fallback to `last` must hold for every later page), and a
fingerprint of the search it belongs to. HMAC-SHA256 with `settings.cursor_secret`: an edited, forged or
foreign cursor is a 422, never a query.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from matching.kiosk_search_query import Strategy
from services.api.pagination import invalid_cursor, sign_payload, signed_payload

SCOPE = "kiosk.search"


@dataclass(frozen=True, slots=True)
class KioskCursor:
    offset: int
    strategy: Strategy


def fingerprint(parts: object) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def encode(secret: str, cursor: KioskCursor, search_fingerprint: str) -> str:
    return sign_payload(secret, SCOPE, orjson.dumps([cursor.offset, cursor.strategy, search_fingerprint]))


def decode(secret: str, text: str, search_fingerprint: str) -> KioskCursor:
    payload = signed_payload(secret, SCOPE, text)
    try:
        offset, strategy, found = orjson.loads(payload)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise invalid_cursor() from None
    if found != search_fingerprint:
        raise invalid_cursor("游标属于另一次搜索 / the cursor belongs to a different search")
    if not isinstance(offset, int) or offset < 0 or strategy not in ("all", "last", "filters"):
        raise invalid_cursor()
    return KioskCursor(offset=offset, strategy=strategy)
