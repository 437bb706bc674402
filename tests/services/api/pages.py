"""Reading a contract list to its end in tests: every page, following `next_cursor`."""

from __future__ import annotations

from typing import Any

import httpx

MAX_PAGES = 100  # a cursor that does not advance fails the test instead of looping


async def read_pages(client: httpx.AsyncClient, path: str, headers: dict[str, str],
                     **params: Any) -> list[dict[str, Any]]:
    """Every page of `path` (200s), the first without a cursor, the last with `next_cursor` null."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(path, headers=headers, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < MAX_PAGES, f"{path}: the cursor does not advance"
