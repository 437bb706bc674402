"""Pure ASGI middleware: request ids + access log, the request body size limit, and HEAD answered as GET."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matching.identity import mask_numbers_in_text

log = structlog.get_logger("bashu.http")


class RequestContextMiddleware:
    """Gives each request an id (or keeps a sane incoming `X-Request-ID`), binds it to every log line, and
    logs one access line. The Authorization header is never logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # A client may put an ID number or phone in the path (a lookup by it): masked, as in responses.
            log.info("request", method=scope["method"], path=mask_numbers_in_text(scope["path"]), status=status,
                     ms=round((time.perf_counter() - started) * 1000, 2))
            structlog.contextvars.clear_contextvars()


# GETs whose answer is a read of personal data written to the audit log (`pii_access_log`: the personal-data endpoint,
# the authorities' reviews of reports with the reporter's contact). A HEAD sends nothing of it out, yet answered as
# a GET it decrypted the values and recorded a read that never left the server: the log of who read what would
# hold reads that were none. They serve GET only, and HEAD is answered 405 with `Allow: GET`.
_AUDITED_READS = re.compile(r"/v1/workers/[^/]+/personal-data/?|/v1/reports(?:/[^/]+)?/?")


def answers_head(path: str) -> bool:
    """Whether HEAD on `path` is answered as GET (every GET but the audited reads)."""
    return _AUDITED_READS.fullmatch(path) is None


class HeadAsGetMiddleware:
    """HEAD is answered as GET is, without the content (RFC 9110 9.3.2: the same status and headers, Content-Length
    included). FastAPI's routes serve only the methods they declare, unlike Starlette's (which add HEAD to every GET),
    so `HEAD /healthz` (what uptime monitors and load balancers often send) and `HEAD /v1/kiosk/search` were answered
    405. Here for every GET at once, rather than a HEAD route beside each GET, which OpenAPI would list twice. The
    request goes on as a GET (the kiosk lane answers it too); the access log, outside, records it as the HEAD it was.
    On an audited read (`answers_head`) it goes on as the HEAD it is, which no route serves: a 405 without content.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def send_head(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                await send(message)
            elif not ended and not message.get("more_body", False):
                # The response's last part, whatever its kind (a body, a file sent by path): an empty body ends it.
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        method = "GET" if answers_head(scope["path"]) else "HEAD"
        await self.app({**scope, "method": method}, receive, send_head)


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit before they are buffered: by Content-Length when sent, else while
    streaming. Upload endpoints (multipart) get the larger upload limit."""

    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        is_upload = (content_type.startswith(("multipart/form-data", "text/csv", "application/x-ndjson",
                                              "application/vnd.openxmlformats", "application/octet-stream"))
                     or scope["path"].endswith("/import") or scope["path"].endswith("/imports"))
        limit = self.max_upload_bytes if is_upload else self.max_json_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, limit)
            return
        received = 0
        too_large = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The framework turns our receive() error into its own 400 or 500; answer 413 in its place.
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await _too_large(scope, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not replaced:
                await _too_large(scope, send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    import orjson

    body = orjson.dumps({
        "type": "https://bashu-bridge.cn/problems/payload-too-large", "title": "Request body too large",
        "status": 413, "detail": f"请求体超过 {limit} 字节 / body exceeds {limit} bytes",
        "instance": mask_numbers_in_text(scope["path"]), "request_id": scope.get("state", {}).get("request_id"),
    })
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
