"""RFC 9457 problem details: one exception type per kind of failure, one handler, listed in OpenAPI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from matching.identity import mask_numbers_in_text
from services.api.middleware import answers_head

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://bashu-bridge.cn/problems/"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Base of every error we answer on purpose. Subclasses fix status, slug and title."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers  # e.g. Retry-After on a 429


class BadRequest(ProblemError):
    pass


class InvalidInput(ProblemError):
    status = 422
    slug = "validation"
    title = "Request did not validate"


class Unauthenticated(ProblemError):
    status = 401
    slug = "unauthenticated"
    title = "Missing or invalid API key"

    def __init__(self, detail: str | None = None, *, invalid_token: bool = False) -> None:
        # RFC 9110 §15.5.2: a 401 carries the challenge; RFC 6750 §3: `error="invalid_token"` when a key was sent
        # but is unknown or revoked, so a client can tell "send a key" from "this key no longer works".
        challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "This key's role may not do that"


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "No such resource"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class RateLimited(ProblemError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class ServiceUnavailable(ProblemError):
    status = 503
    slug = "unavailable"
    title = "A backing service is unavailable"


def problem_response(request: Request, *, status: int, slug: str, title: str, detail: str | None,
                     errors: list[FieldError] | None = None, extra: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + slug, title=title, status=status, detail=detail,
        # Masked like the request log: a client may have put an ID number or phone in the path.
        instance=mask_numbers_in_text(request.url.path), request_id=getattr(request.state, "request_id", None),
        errors=errors,
    ).model_dump(exclude_none=True)
    # Extension members never replace the standard ones: an extension named `status` once replaced the HTTP
    # status code with a posting's status ("status": "closed"), against RFC 9457 and the Problem schema.
    body.update({name: value for name, value in (extra or {}).items() if name not in Problem.model_fields})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"), 401: ("unauthenticated", "Missing or invalid API key"),
    403: ("forbidden", "Forbidden"), 404: ("not-found", "No such resource"),
    405: ("method-not-allowed", "Method not allowed"), 406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"), 413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"), 429: ("rate-limited", "Too many requests"),
}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    # Body fields and query parameters are named bare (`consent.given_at`, `limit`), as api.md names them and as
    # the services' own checks of the same parameters name them (`adcode`, `cursor`): a query-string error once
    # said `query.adcode` for 21 codes and `adcode` for an unknown one. No endpoint takes a query parameter and
    # a body field of the same name. Path, header and cookie keep their prefix.
    # A key is client text too: a body keyed by a person's ID number or phone ({"500107…": …}) must not have it
    # echoed as the field (nor stored as an import row's error), so such numbers are masked.
    parts = [mask_numbers_in_text(str(p)) for p in loc]
    if parts and parts[0] in {"body", "query"}:
        return ".".join(parts[1:]) or parts[0]
    return ".".join(parts) or "body"


# The error type of a rule about several fields of one model (wage min above max, a broker without a licence):
# pydantic locates a model validator's error at the model itself, which a client read as field "body" (or as the
# nested model, `wage`), naming neither field to correct. The error carries the fields it is about instead.
FIELDS_CONFLICT = "fields_conflict"


def fields_conflict(message: str, *fields: str) -> PydanticCustomError:
    """The error a validator raises for a rule about several fields: answered as one error per field named.

    `fields` are names (or dotted paths) within the model whose validator raises it. From a field validator, the
    field it validates is one of them, and the others are its siblings."""
    # The message is pydantic's template, but only `{fields}` would be filled in: other braces stay as written.
    return PydanticCustomError(FIELDS_CONFLICT, message, {"fields": list(fields)})


def error_locations(err: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Where one pydantic error points: its `loc`, or for a `fields_conflict` the location of every field named."""
    loc = tuple(err.get("loc", ()))
    fields = (err.get("ctx") or {}).get("fields") if err.get("type") == FIELDS_CONFLICT else None
    if not fields:
        return [loc]
    # Raised by a field validator, the location ends at that field, which is itself among the fields named.
    model = loc[:-1] if loc and loc[-1] in fields else loc
    return [model + tuple(str(name).split(".")) for name in fields]


def _fields_of(err: dict[str, Any]) -> list[str]:
    # Invalid JSON is located by FastAPI as ("body", <character offset>): an offset is not a field.
    if err.get("type") == "json_invalid":
        return ["body"]
    return [_location(loc) for loc in error_locations(err)]


def _json_position(offset: int, document: object) -> str:
    """` (at character 20: line 2, column 8)`: a multi-line body is read by line and column, not by offset."""
    where = f" (at character {offset}"
    if isinstance(document, str) and 0 <= offset <= len(document):
        line = document.count("\n", 0, offset) + 1
        column = offset - (document.rfind("\n", 0, offset) + 1) + 1
        where += f": line {line}, column {column}"
    return where + ")"


# pydantic prefixes our validators' own messages ("身份证号校验位错误 / …") with its "Value error, " (a ValueError)
# or "Assertion failed, " (an assert): the client reads ours as we wrote them.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


# Chinese for pydantic's own messages (brokers read import errors in Chinese; pydantic speaks English only),
# put before its English text. Templates take the error's `ctx` (limits, allowed values, never the input).
_CHINESE: dict[str, str] = {
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float", "int_parsing_size"), "须为整数"),
    **dict.fromkeys(("float_parsing", "float_type", "decimal_parsing", "decimal_type"), "须为数字"),
    "finite_number": "须为有限的数字",
    **dict.fromkeys(("bool_parsing", "bool_type"), "须为是或否（true / false）"),
    **dict.fromkeys(("string_type", "string_sub_type"), "须为文本"),
    "string_too_long": "最多 {max_length} 个字符",
    "string_too_short": "至少 {min_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "too_long": "最多 {max_length} 项",
    "too_short": "至少 {min_length} 项",
    **dict.fromkeys(("literal_error", "enum"), "须为以下之一：{expected}"),
    **dict.fromkeys(("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"),
                    "须为日期（如 2026-03-01）"),
    **dict.fromkeys(("datetime_parsing", "datetime_type", "datetime_from_date_parsing", "datetime_object_invalid"),
                    "须为时间（如 2026-03-01T08:00:00+08:00）"),
    "timezone_aware": "须带时区（如 +08:00）",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "list_type": "须为列表",
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type"), "须为对象"),
    **dict.fromkeys(("url_parsing", "url_type", "url_scheme", "url_syntax_violation"), "须为网址"),
}
# pydantic's text for these quotes part of the input ("found `n` at 0"): a fixed text instead.
_ENGLISH_WITHOUT_INPUT: dict[str, str] = dict.fromkeys(("uuid_parsing", "uuid_type", "uuid_version"),
                                                        "must be a UUID")
_CHINESE.update(dict.fromkeys(_ENGLISH_WITHOUT_INPUT, "须为 UUID"))


def validation_message(err: Mapping[str, Any]) -> str:
    """The message for one pydantic error, the same for a request body (POST), a merged PATCH and an import row."""
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "未知字段 / unknown field"
    if kind == "missing":
        return "必填 / required"
    message = str(err.get("msg", "invalid"))
    for prefix in _PYDANTIC_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix):]  # our own validators' messages, bilingual already
    chinese = _CHINESE.get(kind)
    if chinese is None:
        return message
    try:
        chinese = chinese.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        chinese = chinese.split("{")[0].rstrip("：") or chinese
    return f"{chinese} / {_ENGLISH_WITHOUT_INPUT.get(kind, message)}"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Per-field errors of a model validated from a dict (a PATCH merged with the stored object, an import row):
    located as a request body's fields are, with the same messages. Pydantic's messages name the rule, not the
    value (`include_input=False`), so personal data does not reach the response."""
    return [FieldError(field=mask_numbers_in_text(".".join(str(p) for p in loc)) or "body",
                       message=validation_message(e))
            for e in exc.errors(include_url=False, include_input=False) for loc in error_locations(e)]


def _validation_message(err: dict[str, Any], document: object = None) -> str:
    if err.get("type") == "json_invalid":
        loc = err.get("loc", ())
        where = _json_position(loc[-1], document) if loc and isinstance(loc[-1], int) else ""
        return "请求体不是合法的 JSON / body is not valid JSON: " + str(err.get("ctx", {}).get("error", "")) + where
    return validation_message(err)


# `code` members of the problems about a request body as a whole, stable for clients to branch on (the same
# names as an import file's problems where the failure is the same: `encoding`, `empty`).
BODY_NOT_UTF8 = "encoding"
BODY_JSON_SYNTAX = "json_syntax"
BODY_EMPTY = "empty"
BODY_NOT_AN_OBJECT = "not_an_object"
BODY_TOO_DEEP = "json_too_deep"

_NOT_AN_OBJECT_TYPES = frozenset({"model_attributes_type", "dict_type", "model_type"})


def _whole_body_problem(errors: Sequence[Any]) -> tuple[str, str] | None:
    """Detail and code when the one error is about the body itself (unparsable, absent, not an object)."""
    if len(errors) != 1:
        return None
    err = errors[0]
    kind, loc = err.get("type"), tuple(err.get("loc", ()))
    if kind == "json_invalid":
        return "请求体不是合法的 JSON / the body is not valid JSON", BODY_JSON_SYNTAX
    if loc == ("body",) and kind == "missing":
        return ("请求体为空，需要一个 JSON 对象 / the body is empty; this request needs a JSON object "
                "(Content-Type: application/json)"), BODY_EMPTY
    if loc == ("body",) and kind in _NOT_AN_OBJECT_TYPES:
        return ("请求体须为 JSON 对象（Content-Type: application/json）/ the body must be a JSON object "
                "sent as Content-Type: application/json"), BODY_NOT_AN_OBJECT
    return None


def _unparsable_body(exc: StarletteHTTPException) -> tuple[str, str] | None:
    """FastAPI answers a JSON body it cannot decode with a bare 400 "There was an error parsing the body", raised
    from the decoder's own exception: that cause says what was wrong. Only looked at for a 400 with a cause."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        # api.md: JSON in UTF-8. A GBK body (common from Windows tools in China) lands here; the offset tells the
        # client where, without echoing bytes that may be personal data.
        return (f"请求体须为 UTF-8 编码的 JSON（不接受 GBK 等编码；偏移 {cause.start} 处的字节无效）/ the body "
                f"must be JSON encoded in UTF-8, not GBK or another encoding (invalid byte at offset {cause.start})"
                ), BODY_NOT_UTF8
    if isinstance(cause, RecursionError):
        return "请求体 JSON 嵌套过深 / the body's JSON is nested too deeply", BODY_TOO_DEEP
    return None


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 names only the first route matching the path,
    and FastAPI makes one route per method: `PUT /v1/workers` was told `Allow: POST` though GET is served too.
    Included routers are not flattened, so each method is tried against the app's routes as a request would be."""
    routes = request.app.router.routes
    served = [method for method in _METHODS
              if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]
    if "GET" in served and "HEAD" not in served and answers_head(request.url.path):
        # Every GET answers HEAD too (middleware.HeadAsGetMiddleware), but the audited reads of personal data.
        served.insert(served.index("GET") + 1, "HEAD")
    return ", ".join(served)


def install_problem_handlers(app: FastAPI, log_unexpected: Any) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, status=exc.status, slug=exc.slug, title=exc.title,
                                detail=exc.detail, errors=exc.errors, extra=exc.extra, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        errors = [FieldError(field=field, message=_validation_message(e, exc.body))
                  for e in raw for field in _fields_of(e)]
        whole = _whole_body_problem(raw)
        if whole is not None:  # the body as a whole is unusable: say that, with a code to branch on
            detail, code = whole
            if code != BODY_JSON_SYNTAX:  # pydantic's "required" / English type message says less than the detail
                errors = [FieldError(field="body", message=detail)]
            return problem_response(request, status=422, slug=InvalidInput.slug, title=InvalidInput.title,
                                    detail=detail, errors=errors, extra={"code": code})
        return problem_response(request, status=422, slug=InvalidInput.slug, title=InvalidInput.title,
                                detail=f"{len(errors)} 个字段无效 / {len(errors)} field(s) invalid", errors=errors)

    async def _unstorable_text(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text and jsonb cannot hold U+0000 (and jsonb refuses some escapes): the client sent text we
        # cannot store, which is bad input, not a server fault. The detail never quotes the value (it may be
        # personal data).
        return problem_response(request, status=422, slug=InvalidInput.slug, title=InvalidInput.title,
                                detail="文本含有无法保存的字符（如 U+0000）/ text contains a character that cannot be "
                                       "stored (such as U+0000)")

    for unstorable in (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
        app.add_exception_handler(unstorable, _unstorable_text)

    @app.exception_handler(asyncpg.DataError)
    async def _unencodable(request: Request, exc: asyncpg.DataError) -> JSONResponse:
        # A lone surrogate ("\ud800" in the JSON) survives pydantic inside list[str] fields, and asyncpg cannot
        # encode it as UTF-8: the same bad text as U+0000, refused before it reached PostgreSQL. Any other
        # DataError is a server fault: re-raised to the 500 handler, as if this one did not exist.
        if isinstance(exc.__cause__, UnicodeEncodeError):
            return await _unstorable_text(request, exc)
        raise exc

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unparsable = _unparsable_body(exc)
        if unparsable is not None:
            detail, code = unparsable
            return problem_response(request, status=400, slug="bad-request", title="Bad request", detail=detail,
                                    errors=[FieldError(field="body", message=detail)], extra={"code": code})
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return problem_response(request, status=exc.status_code, slug=slug, title=title, detail=detail,
                                headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Internals stay in the log (with the request id); the client gets the id to quote.
        log_unexpected(exc)
        request_id = getattr(request.state, "request_id", None)
        # This answer is sent from outside the request middleware, so the id header is set here.
        return problem_response(request, status=500, slug="internal", title="Internal error",
                                detail="An unexpected error occurred; quote the request_id when reporting it.",
                                headers={"x-request-id": request_id} if request_id else None)


_BODY_UNDECODABLE = ("The body could not be decoded: not UTF-8 (`code`: `encoding`) or JSON nested too deeply "
                     "(`json_too_deep`)")
_FORM_UNPARSABLE = ("The multipart/form-data body could not be parsed: no boundary, malformed, or more files or "
                    "fields than the upload takes")


def install_problem_openapi(app: FastAPI) -> None:
    """Document every error answer as what it is: `application/problem+json` with the Problem schema.

    FastAPI puts a response model under `application/json` and documents its own 422 (`HTTPValidationError`,
    a shape we never send) on every operation with parameters; an unparsable body is FastAPI's 400, documented
    nowhere. The generated document is rewritten once, when first asked for."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                if "requestBody" in operation:
                    # An upload's body is never decoded as JSON: its 400 is Starlette's multipart parser refusing
                    # the form (a file in another encoding is the import's own 422, `code`: `encoding`).
                    upload = "multipart/form-data" in operation["requestBody"].get("content", {})
                    responses.setdefault("400", {"description": _FORM_UNPARSABLE if upload else _BODY_UNDECODABLE})
                # BodySizeLimitMiddleware answers any POST/PUT/PATCH, whatever its route, before the route runs.
                if method in ("post", "put", "patch"):
                    responses.setdefault("413", {"description": "Request body too large (MAX_JSON_BODY_BYTES, or "
                                                            "MAX_UPLOAD_BYTES for uploads)"})
                # Any route may fail unexpectedly; the answer is still a problem (api.md: never a bare 500).
                responses.setdefault("500", {"description": "Unexpected error; quote `request_id` when reporting it"})
                for status, response in responses.items():
                    # An HTML page's own error page (the public posting page, for phones) stays what it is.
                    if status.isdigit() and int(status) >= 400 and "text/html" not in response.get("content", {}):
                        response["content"] = dict(content)
                        if response.get("description") == "Validation Error":
                            response["description"] = "Invalid input (field errors in `errors`)"
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries so every documented error shows its problem+json shape."""
    return {s: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}} for s in statuses}
