"""Fixtures for the browser tests of the API's pages (kiosk, dashboard): the app served by uvicorn on a free
loopback port inside the test's event loop, and the system Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import asyncpg
import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright, expect

from services.api.app import create_app
from services.api.http_server import uvicorn_config
from services.api.settings import ApiSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def live_server(settings: ApiSettings, db: asyncpg.Connection) -> AsyncIterator[str]:
    """The app's base URL, served until the test ends."""
    port = _free_port()
    served = settings.model_copy(update={"host": "127.0.0.1", "port": port})
    config = uvicorn_config(create_app(served), served, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# How long a browser test's `expect(...)` waits, as long as its pages' actions (`set_default_timeout`): Playwright's
# own 5 s assertion default failed a typeahead check on a loaded machine where the first suggestion took 6 s.
BROWSER_ASSERTION_TIMEOUT_MS = 20_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    expect.set_options(timeout=BROWSER_ASSERTION_TIMEOUT_MS)
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
