"""The HTTP server refuses oversized request heads at once, and leaves requests with large bodies alone."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx
import pytest

from services.api.http_server import MAX_HEAD_BYTES


async def _exchange(base_url: str, head: bytes, body: bytes = b"", *, chunk: int = 16 * 1024) -> bytes:
    """Sends a raw request in chunks (as a slow client would), stopping early if the server closes; returns
    the answer."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        data = head + body
        for start in range(0, len(data), chunk):
            if writer.is_closing() or reader.at_eof():
                break
            writer.write(data[start:start + chunk])
            try:
                await writer.drain()
            except ConnectionError:
                break
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


def _status_and_body(answer: bytes) -> tuple[int, bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head.lower(), body


async def _assert_refused_as_problem_and_still_serving(live_server: str, raw: bytes, status: int) -> None:
    answered, head, body = _status_and_body(await _exchange(live_server, raw))
    assert answered == status
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == status
    async with httpx.AsyncClient(base_url=live_server) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_a_huge_header_is_refused_with_431_and_the_server_keeps_serving(live_server: str) -> None:
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 * MAX_HEAD_BYTES) + b"\r\n\r\n"
    await _assert_refused_as_problem_and_still_serving(live_server, huge, 431)


async def test_a_huge_url_is_refused_with_414(live_server: str) -> None:
    huge = b"GET /healthz?q=" + b"a" * (4 * MAX_HEAD_BYTES) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, body = _status_and_body(await _exchange(live_server, huge))
    assert status == 414
    assert json.loads(body)["status"] == 414


async def test_heads_within_the_bound_and_large_bodies_pass(live_server: str) -> None:
    # Many headers, together under the bound: answered normally.
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(40))
    status, _, _ = _status_and_body(await _exchange(
        live_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"Connection: close\r\n\r\n"))
    assert status == 200
    # A body many times the head bound, sent in one write with its small head: the body is not the head.
    body = b'{"x": "' + b"a" * (8 * MAX_HEAD_BYTES) + b'"}'
    head = (b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    status, _, _ = _status_and_body(await _exchange(live_server, head, body, chunk=len(head) + len(body)))
    assert status == 401  # no key: the request reached the application


async def test_a_huge_header_pipelined_behind_a_small_request_is_refused(live_server: str) -> None:
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    second = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 * MAX_HEAD_BYTES) + b"\r\n\r\n"
    answer = await _exchange(live_server, first + second)
    # The first request is answered; the second never is (refused, or the connection closed on it).
    assert answer.count(b"HTTP/1.1 200") == 1, answer[:300]


async def test_a_request_the_parser_refuses_is_a_400_problem_and_the_server_keeps_serving(live_server: str) -> None:
    # A control character in a header value, and a method httptools does not know: uvicorn answered these in
    # text/plain ("Invalid HTTP request received.").
    for head in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\x7fb\r\n\r\n",
                 b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n"):
        await _assert_refused_as_problem_and_still_serving(live_server, head, 400)


@pytest.mark.parametrize("handshake", [
    b"", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"])
async def test_a_websocket_upgrade_is_served_as_the_http_request_it_is(live_server: str, handshake: bytes) -> None:
    # No route speaks WebSocket; uvicorn's handshake code answered these in text/plain (400, or an empty 403).
    head = (b"GET /v1/regions HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
            + handshake + b"\r\n")
    status, head_lower, body = _status_and_body(await _exchange(live_server, head))
    assert status == 401  # no key: the application answered
    assert b"content-type: application/problem+json" in head_lower
    assert json.loads(body)["status"] == 401
