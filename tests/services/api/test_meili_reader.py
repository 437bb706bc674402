"""The small Meilisearch client of the read hot paths, against a local HTTP/1.1 server that answers with
Content-Length, chunked bodies, `Connection: close`, and closes idle keep-alive connections."""

from __future__ import annotations

import asyncio

import pytest

from services.api.meili_reader import MeiliReader, MeiliReaderError


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[bytes]]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                seen.append(head + await reader.readexactly(length))
                answer = answers.pop(0)
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower() or answer.endswith(b"<close>"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


def _url(server: asyncio.Server) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_lengths_chunks_keep_alive_and_a_connection_closed_while_idle() -> None:
    server, seen = await _serve([
        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"b\"\r\n3\r\n:2}\r\n0\r\n\r\n<close>",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ])
    client = MeiliReader(_url(server), "secret", timeout=5)
    try:
        assert await client.request("POST", client.path("indexes", "x y", "search"), b"{}") == (200, b'{"a":1}')
        assert await client.request("GET", "/indexes/x") == (404, b'{"b":2}')
        # The server closed that connection after answering: the next request retries on a fresh one.
        assert await client.request("GET", "/health") == (200, b"{}")
    finally:
        await client.aclose()
        server.close()
    assert seen[0].startswith(b"POST /indexes/x%20y/search HTTP/1.1\r\n")
    assert b"Authorization: Bearer secret\r\n" in seen[0]
    assert b"Accept-Encoding: identity\r\n" in seen[0]
    assert seen[0].endswith(b"Content-Length: 2\r\n\r\n{}")


async def test_unreachable_and_timeouts_are_meili_reader_errors() -> None:
    server, _ = await _serve([])
    url = _url(server)
    server.close()
    await server.wait_closed()
    with pytest.raises(MeiliReaderError):
        await MeiliReader(url, None, timeout=2).request("GET", "/health")

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):  # never answers; ends when the client gives up
            pass
        writer.close()

    slow = await asyncio.start_server(silent, "127.0.0.1", 0)
    client = MeiliReader(_url(slow), None, timeout=0.2)
    try:
        with pytest.raises(MeiliReaderError, match="timed out"):
            await client.request("GET", "/health")
    finally:
        await client.aclose()
        slow.close()
        await slow.wait_closed()
    with pytest.raises(ValueError, match="http"):
        MeiliReader("https://search.example", None)
