"""Serving the API over HTTP/1.1 with uvicorn, with a bound on the request head.

uvicorn's httptools protocol puts no limit on the request line and headers: it collects them as they arrive, by
concatenation (quadratic in the number of reads), on the one event loop. One unauthenticated client sending a
120 MB header held every other request for ~17 s (review, 2026-11-26). uvicorn's h11 protocol has such a limit
but costs more CPU per request on the kiosk's hot path (issue 5), so the httptools protocol is kept and counts
the bytes of each request head itself: past MAX_HEAD_BYTES it answers 414 (mostly request line) or 431
(headers) as a problem document and closes the connection. A reverse proxy in front (infra/) may bound it too.
"""

from __future__ import annotations

import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.api.settings import ApiSettings

# Request line and headers together. Generous for API clients (a bearer key, a few headers) and browsers
# (the kiosk page's cookies are small); Node allows 16 KiB, nginx 4 × 8 KiB by default.
MAX_HEAD_BYTES = 64 * 1024

# How long a refused connection is read (and discarded) before it is closed: see BoundedHttpToolsProtocol._refuse.
LINGER_SECONDS = 2.0

_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
_TITLES = {400: "请求格式错误 / malformed HTTP request", 414: "请求地址过长 / request line too long",
           431: "请求头过大 / request headers too large"}
_DETAILS = {400: "the request is not valid HTTP/1.1 (request line, a header or the body framing)"}


def _problem(status: int) -> bytes:
    detail = _DETAILS.get(status, f"the request line and headers must fit in {MAX_HEAD_BYTES} bytes")
    body = json.dumps({"type": "about:blank", "title": _TITLES[status], "status": status, "detail": detail},
                      ensure_ascii=False).encode()
    return b"".join([b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
                     b"content-type: application/problem+json\r\n",
                     b"content-length: %d\r\n" % len(body), b"connection: close\r\n\r\n", body])


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose head grows past MAX_HEAD_BYTES.

    Two counts, because httptools reports a header only once it is complete (after collecting it): the bytes of
    each read while a head is open (bounds a header that never ends), and the head's own URL and header bytes
    (exact, also for a request pipelined behind another in the same read, whose bytes before its start the
    first count misses). So a head is refused at MAX_HEAD_BYTES, or at worst one read (≤ 256 KiB) later."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = True  # the current request's head is not complete yet
        self._read_bytes = 0  # bytes read while it was open
        self._url_bytes = 0  # its request target so far
        self._header_bytes = 0  # its complete headers
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # discarded unparsed: see _refuse
        if self._head_open:
            self._read_bytes += len(data)
        super().data_received(data)
        # Checked after parsing: a read that completes a small head may carry a large body with it.
        if (self._head_open and max(self._read_bytes, self._url_bytes + self._header_bytes) > MAX_HEAD_BYTES
                and not self.transport.is_closing()):
            self._refuse(414 if self._url_bytes > MAX_HEAD_BYTES // 2 else 431)

    def _refuse(self, status: int) -> None:
        self._refused = True
        if self.cycle is not None and not self.cycle.response_complete:
            # Pipelined behind a request still being answered: an answer now would be taken for that one's.
            self.transport.close()
            return
        # Closing at once with the client's bytes still arriving makes the kernel reset the connection, and the
        # client may never read the answer. So: answer, half-close, read on (discarding, without parsing) for
        # a moment, then close.
        self.transport.write(_problem(status))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to what httptools cannot parse (a control character in a header, an unknown method,
        # broken chunked framing) is text/plain; every error this API sends is a problem document.
        self.transport.write(_problem(400))
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._url_bytes = self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._read_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open = True  # the next (pipelined) request's


def uvicorn_config(app: Any, settings: ApiSettings, **options: Any) -> uvicorn.Config:
    """The server configuration of every process serving the API (tests' live servers included)."""
    # No route speaks WebSocket. With uvicorn's WebSocket protocol loaded, a request carrying `Upgrade: websocket`
    # was answered by its handshake code instead of the application, in text/plain (400 without a
    # Sec-WebSocket-Key, an empty 403 with one); without it, the request is served as the HTTP request it is.
    options.setdefault("ws", "none")
    return uvicorn.Config(app, host=settings.host, port=settings.port, access_log=False, log_config=None,
                          proxy_headers=False, http=BoundedHttpToolsProtocol, **options)
