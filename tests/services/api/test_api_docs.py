"""`/docs` and `/redoc` render from assets this process serves: no CDN, so the documentation works offline."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Request, expect

UI_TIMEOUT_MS = 20_000


async def test_the_docs_pages_link_only_to_this_server(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = await client.get(page)
        assert html.status_code == 200
        assert "https://" not in html.text, page
    swagger = await client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert swagger.status_code == 200
    assert len(swagger.content) > 500_000


@pytest.mark.browser
async def test_swagger_ui_renders_the_api_with_the_network_cut_off(live_server: str, browser: Browser) -> None:
    page = await browser.new_page()
    elsewhere: list[str] = []

    async def only_this_server(route: object, request: Request) -> None:
        if request.url.startswith(live_server):
            await route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(request.url)
            await route.abort()  # type: ignore[attr-defined]

    await page.route("**/*", only_this_server)
    await page.goto(f"{live_server}/docs")
    await expect(page.locator(".opblock-summary-path", has_text="/v1/kiosk/search").first).to_be_visible(
        timeout=UI_TIMEOUT_MS)
    assert await page.locator(".opblock").count() > 50
    assert elsewhere == []
