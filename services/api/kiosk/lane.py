"""`GET /v1/kiosk/search` served in front of the router: the one request every market hall repeats.

Why a lane: FastAPI's and Starlette's layers around the handler (exception and exit-stack middleware, the route
table through included routers, request wrapping, dependency solving, response classes) cost ~0.3 ms of CPU per
kiosk search (1.81 → 1.49 ms a free-text search without them), against a target of "raw Meilisearch + 2 ms" for the
whole request (loadtests/README, fifth pass; issue 5). The lane answers exactly that method and path with the same
functions the route uses: `kiosk_request` (key, role, resources), `search_query` (the query string through
`KioskSearchQuery`) and `answer_search` (interpretation, Meilisearch, shaping). The route stays the documented
contract (OpenAPI) and answers when the lane is switched off (`KIOSK_SEARCH_LANE=false`); tests hold the two answers
equal.

It sits inside the request-id / access-log middleware and the body-size limit, so every request still gets
its id and its access line. It matches the path as the router does (below any `root_path`, so also when the
application is served under a prefix or mounted). While `kiosk_request` has a dependency override (tests), the
route answers, so the override holds for every request. Failures are answered by the application's own exception
handlers (the same mapping from exception type to problem details the router's requests get); anything without a
handler propagates to the outermost error middleware, as from a route.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.auth.caller import kiosk_request
from services.api.kiosk.router import SEARCH_PATH, answer_search, search_query

ExceptionHandlers = Mapping[Any, Callable[..., Any]]

_HEADERS_JSON = (b"content-type", b"application/json")


def _route_path(scope: Scope) -> str:
    """The path the router matches: `path` below the `root_path` it starts with (as Starlette's routing)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root):len(root) + 1] == "/":
        return path[len(root):]
    return path


class KioskSearchLane:
    def __init__(self, app: ASGIApp, *, exception_handlers: ExceptionHandlers,
                 dependency_overrides: Mapping[Callable[..., Any], Callable[..., Any]]) -> None:
        self.app = app
        # The application's handlers by exception type (FastAPI's `app.exception_handlers`, filled by
        # install_problem_handlers); read at each failure, so handlers added later count too.
        self.exception_handlers = exception_handlers
        # FastAPI's `app.dependency_overrides`, the live mapping (overrides are set after the app is built).
        self.dependency_overrides = dependency_overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET" or _route_path(scope) != SEARCH_PATH
                or (self.dependency_overrides and kiosk_request in self.dependency_overrides)):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            kiosk = await kiosk_request(request)
            body = await answer_search(kiosk, search_query(request), request.headers.get("cache-control"))
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            # As Starlette's exception middleware: async or plain handlers, a None answer sends nothing.
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
            if response is not None:
                await response(scope, receive, send)
            exc.__traceback__ = None  # as Starlette: a reused exception instance must not grow tracebacks
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [_HEADERS_JSON, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _handler_for(self, exc: Exception) -> Callable[..., Any] | None:
        # As Starlette's exception middleware: an HTTPException's status handler first, then the handler of the
        # nearest class in the exception's MRO; never the catch-all (Exception or 500), which belongs to the
        # outermost error middleware (it answers 500 and re-raises for the server's log).
        if isinstance(exc, HTTPException) and exc.status_code != 500:
            by_status = self.exception_handlers.get(exc.status_code)
            if by_status is not None:
                return by_status
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None
