"""``POST /graphql`` with a JSON body, and ``GET /graphql?query=...``, answered in front of FastAPI's
routing and Strawberry's view.

The body (or the query string) is parsed once (orjson) and the caller identified. With the response
cache on, a stored response (``resolvers/cache/responses.py``) is sent as it was stored
(``Mobius-Cache: HIT``).
Anything else is executed by the Strawberry schema directly and serialized as Strawberry's view
does (what the view adds per request, FastAPI's routing and dependency injection, the request
adapter, the view's checks, is skipped), then stored when it may be reused (``MISS``; ``BYPASS``
when it is not a cacheable query). The header is only sent when the response cache is on.

Whatever this path does not fully understand goes on, untouched, to the full path, which answers
exactly as before: another content type (multipart, ``application/graphql+json``), a batch, a
malformed body, a refused credential (401), a bad deadline header (400), an operation Strawberry
refuses (a mutation over ``GET`` among them). A ``GET`` without a ``query`` (GraphiQL in a browser)
and WebSockets are the full path's too. The router is configured without HTTP streaming transports
(SSE, multipart subscriptions), so no ``Accept`` header changes what a JSON ``POST`` gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from mobius.callers import UnknownCaller
from mobius.context import RequestContexts
from resolvers.cache import CacheableDocuments
from schema.context import Caller
from schema.root import MobiusSchema

CACHE_HEADER = b"mobius-cache"
OPERATIONS_BY_METHOD = {"POST": OperationType.from_http("POST"), "GET": OperationType.from_http("GET")}


@dataclass(frozen=True, slots=True, kw_only=True)
class LeanGateway:
    """What the lean path needs of the app: the schema, the same context builder as the full
    path's context getter, and which documents the response cache may store."""

    schema: MobiusSchema
    contexts: RequestContexts
    cacheable: CacheableDocuments


@dataclass(frozen=True, slots=True)
class _Request:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


class LeanGraphQLPath:
    """ASGI middleware serving ``POST <path>`` with ``Content-Type: application/json`` and
    ``GET <path>?query=...``."""

    def __init__(self, app: ASGIApp, *, gateway: LeanGateway, path: str = "/graphql") -> None:
        self.app = app
        self.gateway = gateway
        self.path = path
        self._deadline_header = gateway.contexts.deadline.header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"] if scope["type"] == "http" and scope["path"] == self.path else None
        if method == "GET":
            await self._get(scope, receive, send)
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        content_type, authorization, deadline = self._headers(scope)
        if content_type is None or content_type.partition(b";")[0].strip() != b"application/json":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before its request was complete
        if not await self._answer(_parse(body), "POST", authorization, deadline, send):
            await self.app(scope, _replay(body, receive), send)

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        _, authorization, deadline = self._headers(scope)
        request = _from_query_string(scope["query_string"])
        if request is None or not await self._answer(request, "GET", authorization, deadline, send):
            await self.app(scope, receive, send)

    def _headers(self, scope: Scope) -> tuple[bytes | None, str | None, str | None]:
        """The first ``Content-Type``, ``Authorization`` and deadline header, each or ``None``."""
        content_type = authorization = deadline = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == self._deadline_header and deadline is None:
                deadline = value.decode("latin-1")
        return content_type, authorization, deadline

    async def _answer(
        self, request: _Request | None, method: str, authorization: str | None, deadline: str | None, send: Send
    ) -> bool:
        """Answer the request, or return False (having sent nothing) to leave it to the full path."""
        admitted = await self._admit(request, authorization, deadline)
        if admitted is None:
            return False
        caller, budget_s = admitted
        assert request is not None  # admitted
        contexts = self.gateway.contexts
        responses = contexts.responses
        key = cache_status = None
        if responses is not None:
            if self.gateway.cacheable(request.query, request.operation_name):
                key = responses.key(request.query, request.operation_name, request.variables, _identity(caller))
                stored = await responses.get(key)
                if stored is not None:
                    await _respond(send, stored, b"HIT")
                    return True
                cache_status = b"MISS"
            else:
                responses.bypass()
                cache_status = b"BYPASS"
        contexts.begin(budget_s)
        context = contexts.new(caller, provenance=key is not None)
        generation = responses.generation if responses is not None else 0
        try:
            result = await self.gateway.schema.execute(
                request.query,
                variable_values=request.variables,
                context_value=context,
                operation_name=request.operation_name,
                allowed_operation_types=OPERATIONS_BY_METHOD[method],
                operation_extensions=request.extensions,
            )
        except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError):
            return False  # refused before execution: the full path answers these with its 400s
        payload = orjson.dumps(process_result(result))
        write = None
        if key is not None and responses is not None:
            provenance = context.loaders.cache.provenance if context.loaders.cache is not None else None
            if provenance is None or result.errors or result.extensions or context.degraded:
                responses.skip()
            else:
                write = responses.keep(key, payload, provenance, generation)
        await _respond(send, payload, cache_status)
        if write is not None and responses is not None:
            await responses.write(write)
        return True

    async def _admit(
        self, request: _Request | None, authorization: str | None, deadline: str | None
    ) -> tuple[Caller, float] | None:
        """The request's caller and deadline budget; ``None`` when the full path must answer: a
        malformed request, a refused credential, a bad deadline."""
        contexts = self.gateway.contexts
        if request is None:
            return None
        try:
            caller = await contexts.callers.identify(authorization)
        except UnknownCaller:
            return None
        budget_s = contexts.budget_s(deadline)
        if budget_s is None:
            return None
        return caller, budget_s


def _identity(caller: Caller) -> tuple[str, list[str], str | None, bool]:
    """Everything about the caller a response may depend on: the authorization rules check whether
    it is authenticated and its scopes, ``viewer`` is the caller's user."""
    return caller.name, sorted(caller.scopes), caller.user_id, caller.authenticated


def _parse(body: bytes) -> _Request | None:
    """The request if its body is one well-formed GraphQL request; ``None`` for anything the full
    path must judge (and phrase the error of)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return _request_of(data)


def _from_query_string(query_string: bytes) -> _Request | None:
    """``?query=...&variables=<JSON>&operationName=...&extensions=<JSON>``, as the full path reads
    it; ``None`` without a ``query`` (GraphiQL) or with anything it would refuse."""
    fields: dict[str, Any] = {}
    for name, values in parse_qs(query_string.decode("latin-1"), keep_blank_values=True).items():
        if len(values) != 1 or name not in _GET_FIELDS:
            return None
        value = values[0]
        if name in _JSON_GET_FIELDS:
            try:
                fields[name] = orjson.loads(value) if value else None
            except orjson.JSONDecodeError:
                return None
        else:
            fields[name] = value
    return _request_of(fields)


_GET_FIELDS = frozenset({"query", "variables", "operationName", "extensions"})
_JSON_GET_FIELDS = frozenset({"variables", "extensions"})


def _request_of(data: Any) -> _Request | None:
    if not isinstance(data, dict):
        return None
    query, variables = data.get("query"), data.get("variables")
    operation_name, extensions = data.get("operationName"), data.get("extensions")
    if (
        not isinstance(query, str)
        or not query
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
        or not isinstance(extensions, dict | None)
    ):
        return None
    return _Request(query=query, variables=variables, operation_name=operation_name, extensions=extensions)


async def _read_body(receive: Receive) -> bytes | None:
    message = await receive()
    if message["type"] != "http.request":
        return None
    if not message.get("more_body", False):
        body: bytes = message.get("body", b"")
        return body
    chunks = [message.get("body", b"")]
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the full path the body already read, then the connection's events."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, body: bytes, cache_status: bytes | None) -> None:
    """A 200 with the headers Strawberry's view sends (plus the cache status)."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    if cache_status is not None:
        headers.append((CACHE_HEADER, cache_status))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
