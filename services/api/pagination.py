"""Opaque, signed keyset cursors for list endpoints.

A cursor names the last item of a page by its sort key, (created_at, id), and the list it belongs to (its
`scope`, e.g. "workers"). It is HMAC-SHA256-signed with `settings.cursor_secret`, so an edited or forged
cursor — or one from another list — is refused with a 422 problem before it can reach a query.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel

from services.api.auth.caller import request_caller
from services.api.problems import FieldError, InvalidInput

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SIGNATURE_BYTES = 16

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (default 20, max 100).")]
CursorParam = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")]


@dataclass(frozen=True, slots=True)
class Position:
    """The sort key of the last item a page showed; the next page starts strictly after it."""

    created_at: datetime
    id: UUID


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, scope: str, payload: bytes) -> bytes:
    # The scope is signed with the payload so a cursor of one list cannot be replayed against another.
    # hmac.digest: the one-shot C path (kiosk search signs a cursor on every first page; ~15× cheaper than hmac.new).
    return hmac.digest(secret.encode(), scope.encode() + b"\x00" + payload, "sha256")[:_SIGNATURE_BYTES]


def invalid_cursor(message: str = "游标无效或已被修改 / invalid or altered cursor") -> InvalidInput:
    return InvalidInput("游标无效 / invalid cursor", errors=[FieldError(field="cursor", message=message)])


def sign_payload(secret: str, scope: str, payload: bytes) -> str:
    """`payload` as an opaque cursor of `scope`: base64url of it, a dot, and its signature."""
    return f"{_b64(payload)}.{_b64(_signature(secret, scope, payload))}"


def signed_payload(secret: str, scope: str, cursor: str) -> bytes:
    """The payload of a cursor signed by us for `scope`, or InvalidInput (422)."""
    payload_part, dot, signature_part = cursor.partition(".")
    if not dot or not payload_part or not signature_part:
        raise invalid_cursor()
    try:
        payload = _unb64(payload_part)
        signature = _unb64(signature_part)
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    if not hmac.compare_digest(signature, _signature(secret, scope, payload)):
        raise invalid_cursor()
    return payload


def list_scope(org_id: object, name: str) -> str:
    """A list's cursor scope for one organisation: a cursor read off one organisation's list is refused in another's
    (the rows are filtered by organisation either way; a foreign cursor is a client's mistake, told as one)."""
    return f"{name}:{org_id}"


def encode_cursor(secret: str, scope: str, position: Position) -> str:
    return sign_payload(secret, scope, orjson.dumps([position.created_at.isoformat(), str(position.id)]))


def decode_cursor(secret: str, scope: str, cursor: str) -> Position:
    """The position a cursor names, or InvalidInput (422) if it was not signed by us for this list."""
    payload = signed_payload(secret, scope, cursor)
    try:
        created_at_text, id_text = orjson.loads(payload)
        # UUID() of a number or a list is an AttributeError, not a ValueError: only text goes on.
        if not isinstance(created_at_text, str) or not isinstance(id_text, str):
            raise TypeError("a position is two strings")
        return Position(created_at=datetime.fromisoformat(created_at_text), id=UUID(id_text))
    except (ValueError, TypeError, orjson.JSONDecodeError):
        # Only reachable with our own secret, i.e. a bug, but still a clean 422 rather than a 500.
        raise invalid_cursor() from None


def next_cursor(secret: str, scope: str, rows: list[Position], limit: int) -> str | None:
    """The cursor after a page fetched with `limit + 1` rows: None when there is no further page."""
    if len(rows) <= limit:
        return None
    return encode_cursor(secret, scope, rows[limit - 1])


# ------------------------------------------------------------------------------ paging parameters not declared

PAGING_PARAMETERS = ("limit", "cursor")


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            # A model of query parameters (kiosk search's): its fields are the parameters, as OpenAPI lists them.
            names |= {field.alias or name for name, field in model.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _authenticates(route: APIRoute) -> bool:
    """The route asks for an API key: a security scheme among its dependencies, or declared (kiosk search)."""
    def asks(dependant: Dependant) -> bool:
        return isinstance(dependant.call, SecurityBase) or any(asks(sub) for sub in dependant.dependencies)

    return asks(route.dependant) or "security" in (route.openapi_extra or {})


async def refuse_undeclared_paging(request: Request) -> None:
    """A `limit` or `cursor` sent to an endpoint that does not take it is refused (422 naming it), not ignored.

    FastAPI ignores unknown query parameters: `?limit=5` on a report answered the whole report and `?cursor=…` on
    a list without pages answered its first page again, so a client paging through it looped or silently read
    less than it asked for. Installed on every router (app.py), so an endpoint added later cannot forget it."""
    route = request.scope.get("route")
    # The API only (api.md's lists): a page for people (/kiosk, /dashboard, a posting's page) keeps its link working.
    if not isinstance(route, APIRoute) or not route.path.startswith("/v1/"):
        return
    sent = [name for name in PAGING_PARAMETERS if name in request.query_params]
    if not sent:
        return
    # Read only when one was sent (rare on an endpoint without it): a walk over a few parameters, not cached.
    # A route that reads its query string itself (kiosk search) declares its parameters in its OpenAPI instead.
    documented = (route.openapi_extra or {}).get("parameters", [])
    declared = _query_names(route.dependant) | {p["name"] for p in documented if p.get("in") == "query"}
    undeclared = [name for name in sent if name not in declared]
    if undeclared:
        if _authenticates(route):
            # This dependency runs before the route's own (FastAPI puts a router's dependencies first), but the
            # caller is checked first everywhere else (a bad declared `limit` is validated after the caller's
            # dependency): a missing or unknown key is a 401 here too, not a 422 telling it about parameters.
            # Resolved only on this rare path, so a request that is answered looks its key up once.
            await request_caller(request)
        raise InvalidInput(
            f"此接口不接受 {', '.join(undeclared)} / this endpoint does not take {', '.join(undeclared)}",
            errors=[FieldError(field=name, message=f"此接口不分页，不接受 {name} / this endpoint is not paged "
                                                   f"by {name}; it answers everything it has in one response")
                    for name in undeclared])
