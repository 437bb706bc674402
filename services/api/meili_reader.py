"""A small keep-alive HTTP/1.1 client for the read hot paths to Meilisearch (kiosk search, matches).

Why not the SDK's httpx client: measured in the API process under the kiosk benchmark, httpx/httpcore/anyio
cost about 1.1–1.3 ms of CPU per search request (URL merging, auth and redirect flows, cancel scopes, h11
events, headers and body as separate writes) against about 0.15 ms here, on a path whose whole budget is
"raw Meilisearch + 2 ms". This client does only what those paths need: plain `http://` on loopback or a
private network, JSON bodies, one write per request, `Content-Length` or chunked answers, `Accept-Encoding:
identity` (see search_index.py for the gzip + delayed-ACK stall), a per-request timeout, and idle connections
reused LIFO. A request that fails on a reused connection before any answer arrives (the server closed it while
idle) is retried once on a fresh connection; these are read-only searches, so that is safe.

Anything else (https, writes, task polling) stays with the SDK client. The API's lifespan opens one per
process and closes it (`aclose()`) with the other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import quote, urlsplit

_MAX_IDLE = 64
_MAX_HEADER_BYTES = 64 * 1024


class MeiliReaderError(Exception):
    """Meilisearch could not be reached or answered something that is not HTTP."""


class _Connection(asyncio.Protocol):
    __slots__ = ("buffer", "lost", "transport", "used", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.lost = False
        self.used = False  # has answered at least one request (so a failure may be a stale keep-alive)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool | None:
        self.lost = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self) -> None:
        """Wait for more bytes (or the end of the connection)."""
        if self.lost:
            raise MeiliReaderError("connection closed by the server")
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.abort()


def _parse_head(head: bytes) -> tuple[int, dict[bytes, bytes]]:
    lines = head.split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
        raise MeiliReaderError("not an HTTP/1.x answer")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    try:
        status = int(status_line[1])
    except ValueError:
        raise MeiliReaderError("bad status line") from None
    if status_line[0] == b"HTTP/1.0" and headers.get(b"connection", b"").lower() != b"keep-alive":
        headers[b"connection"] = b"close"
    return status, headers


class MeiliReader:
    """`await client.request("POST", "/indexes/x/search", body_bytes)` → (status, body bytes)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout: float = 5.0,
                 max_idle: int = _MAX_IDLE) -> None:
        self._idle: list[_Connection] = []
        self._busy: set[_Connection] = set()
        self._closed = False
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("MeiliReader speaks plain http:// only")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.max_idle = max_idle
        host_header = f"{self.host}:{self.port}" if parts.port else self.host
        fixed = [f"Host: {host_header}", "Accept-Encoding: identity", "Content-Type: application/json"]
        if api_key:
            fixed.append(f"Authorization: Bearer {api_key}")
        self._fixed_headers = ("\r\n".join(fixed) + "\r\n").encode("latin-1")

    @staticmethod
    def supports(base_url: str) -> bool:
        return urlsplit(base_url).scheme == "http"

    def path(self, *segments: str) -> str:
        return self.base_path + "/" + "/".join(quote(s, safe="") for s in segments)

    # ----------------------------------------------------------------------------------- requests

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self._closed:
            raise MeiliReaderError("client closed")
        head = (f"{method} {path} HTTP/1.1\r\n".encode("latin-1") + self._fixed_headers
                + f"Content-Length: {len(body) if body is not None else 0}\r\n\r\n".encode("latin-1"))
        payload = head + body if body else head
        try:
            async with asyncio.timeout(self.timeout):
                for attempt in (0, 1):
                    conn = await self._acquire(fresh=attempt == 1)
                    reused = conn.used
                    try:
                        status, answer, keep = await self._exchange(conn, payload, head_only=method == "HEAD")
                    except MeiliReaderError:
                        self._discard(conn)
                        if reused and attempt == 0 and not conn.buffer:
                            continue  # a keep-alive connection the server had closed: once more, fresh
                        raise
                    except BaseException:
                        self._discard(conn)  # cancelled or timed out mid-answer: never reuse
                        raise
                    self._release(conn, keep)
                    return status, answer
        except TimeoutError:
            raise MeiliReaderError("timed out") from None
        except OSError as exc:
            raise MeiliReaderError(type(exc).__name__) from None
        raise MeiliReaderError("unreachable")  # pragma: no cover - the loop always returns or raises

    async def _exchange(self, conn: _Connection, payload: bytes, *, head_only: bool) -> tuple[int, bytes, bool]:
        assert conn.transport is not None
        conn.buffer.clear()
        conn.transport.write(payload)
        buffer = conn.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise MeiliReaderError("answer headers too large")
            await conn.more()
        status, headers = _parse_head(bytes(buffer[:end]))
        start = end + 4
        keep = headers.get(b"connection", b"").lower() != b"close"
        if head_only or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            body = await self._chunked(conn, start)
        elif (length_text := headers.get(b"content-length")) is not None:
            try:
                length = int(length_text)
            except ValueError:
                raise MeiliReaderError("bad content-length") from None
            while len(buffer) - start < length:
                await conn.more()
            body = bytes(buffer[start:start + length])
        else:  # delimited by the end of the connection
            while not conn.lost:
                await conn.more()
            body, keep = bytes(buffer[start:]), False
        conn.used = True
        return status, body, keep

    @staticmethod
    async def _chunked(conn: _Connection, start: int) -> bytes:
        buffer = conn.buffer
        out = bytearray()
        position = start
        while True:
            while (line_end := buffer.find(b"\r\n", position)) < 0:
                await conn.more()
            size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise MeiliReaderError("bad chunk size") from None
            position = line_end + 2
            if size == 0:
                while buffer.find(b"\r\n", position) < 0:  # trailers end with an empty line
                    await conn.more()
                while (trailer_end := buffer.find(b"\r\n", position)) != position:
                    position = trailer_end + 2
                    while buffer.find(b"\r\n", position) < 0:
                        await conn.more()
                return bytes(out)
            while len(buffer) < position + size + 2:
                await conn.more()
            out += buffer[position:position + size]
            position += size + 2

    # ----------------------------------------------------------------------------------- pool

    async def _acquire(self, *, fresh: bool) -> _Connection:
        while not fresh and self._idle:
            conn = self._idle.pop()
            if not conn.lost:
                self._busy.add(conn)
                return conn
            conn.close()
        loop = asyncio.get_running_loop()
        transport, conn = await loop.create_connection(_Connection, self.host, self.port)
        conn.transport = transport  # uvloop may call connection_made after create_connection returns
        self._busy.add(conn)
        return conn

    def _release(self, conn: _Connection, keep: bool) -> None:
        self._busy.discard(conn)
        if keep and not conn.lost and not self._closed and len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    def _discard(self, conn: _Connection) -> None:
        self._busy.discard(conn)
        conn.close()

    def _close_all(self) -> None:
        self._closed = True
        for conn in (*self._idle, *self._busy):
            # The loop may already be closed (an app discarded at interpreter exit): the socket goes with it.
            with contextlib.suppress(Exception):
                conn.close()
        self._idle.clear()
        self._busy.clear()

    async def aclose(self) -> None:
        self._close_all()
        await asyncio.sleep(0)  # abort() releases the sockets on the loop's next turn
