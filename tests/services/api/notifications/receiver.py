"""A real HTTP receiver on 127.0.0.1 for webhook tests and the latency benchmark.

A minimal HTTP/1.1 server on asyncio streams (one request per connection, `Connection: close`). It verifies
every request with `standardwebhooks.Webhook(secret).verify`, and accepts each `webhook-id` at most once: a
repeated id is answered 200 but counted as a duplicate, as a well-behaved receiver would do. A `behaviour`
callable decides per request: a status code, or a delay before answering (to hang past the timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    message_id: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time()
    verified: bool


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0


@dataclass
class Receiver:
    secret: str | None = None
    behaviour: Callable[[Received, int], Reply] = lambda _r, _n: Reply()  # (request, nth attempt of this id)
    requests: list[Received] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)  # webhook-id → times accepted (must stay ≤ 1)
    duplicates: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    first_accepted_at: dict[str, float] = field(default_factory=dict)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/bashu"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            message_id = headers.get("webhook-id", "")
            verified = False
            if self.secret:
                try:
                    Webhook(self.secret).verify(body, headers)
                    verified = True
                except Exception:
                    verified = False
            received = Received(message_id, headers, body, time.time(), verified)
            self.requests.append(received)
            self.attempts[message_id] += 1
            reply = self.behaviour(received, self.attempts[message_id])
            if reply.delay:
                await asyncio.sleep(reply.delay)
            status = reply.status
            if self.secret and not verified:
                status = 401
            if 200 <= status < 300:
                if self.accepted[message_id]:
                    self.duplicates[message_id] += 1
                else:
                    self.accepted[message_id] += 1
                    self.first_accepted_at[message_id] = time.time()
                    self.arrived.set()
            writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
