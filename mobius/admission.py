"""The admission step: every request to ``/graphql`` passes here, and only here, before anything
runs. In order:

1. ``OPTIONS`` is answered (a CORS preflight where ``http.cors`` allows it); any method but
   ``GET`` and ``POST`` is refused with 405 and ``Allow``.
2. The response media type is negotiated from ``Accept`` (406 when nothing offered fits). A
   ``GET`` without a document that prefers HTML gets GraphiQL, where it is on. A request for
   ``text/event-stream`` is answered as Server-Sent Events where subscriptions are on
   (``mobius.subscriptions.sse``), without a deadline; a subscription asked for otherwise is 406.
3. The CSRF rule, where on: a request must carry a preflight header (``http.csrf_headers``) or a
   ``Content-Type`` a browser cannot send cross-site without a preflight.
4. The caller is identified (401 for a credential that names nobody) and the deadline read (400
   for a bad header); the deadline starts now.
5. The GraphQL request is read: a ``POST`` body (415 unless JSON in UTF-8, 413 past
   ``limits.max_body_bytes``, 400 unless a JSON object, or an array where batching is on), a
   ``GET`` query string (414 past the same limit); its parameters are read by ``mobius.graphql_request``.
6. Each GraphQL request is checked: its parameters' types (400), its persisted document resolved
   (automatic persisted queries or trusted documents), its document parsed and validated (one
   verdict per text, ``schema.operations``), its operation picked by ``operationName``, and a
   mutation over ``GET`` refused (405).

What it admits goes to the one executor entry (``mobius.executor``); what it refuses is a
``RequestError`` rendered there. A WebSocket handshake passes steps 3-4 in their WebSocket form:
the ``Origin`` checked against ``http.cors`` and the caller identified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType
from starlette.types import Receive, Scope

from mobius.callers import CallerIdentity, UnknownCaller
from mobius.context import RequestContexts
from mobius.cors import CorsPolicy
from mobius.graphql_request import Parameters, check_json, names_a_document, query_parameters, too_large
from mobius.media import (
    EVENT_STREAM,
    GRAPHQL_RESPONSE,
    HTML,
    JSON,
    RESPONSE_MEDIA,
    SIMPLE_CONTENT_TYPES,
    Negotiator,
    ResponseMedia,
    parse_media_type,
)
from mobius.persisted import PersistedDocuments
from mobius.request_errors import RequestError, refused
from schema.context import Caller
from schema.operations import CostRecheck, DocumentExecution, Documents

Headers = Sequence[tuple[bytes, bytes]]

OFFERED = (GRAPHQL_RESPONSE, JSON)
OFFERED_WITH_PAGE = (HTML, GRAPHQL_RESPONSE, JSON)
ALLOW = "GET, POST, OPTIONS"

# Where ``Admission._scan`` puts the first value of each header admission reads.
_CONTENT_TYPE = 0
_ACCEPT = 1
_AUTHORIZATION = 2
_DEADLINE = 3
_LENGTH = 4
_ORIGIN = 5
_HOST = 6
_PREFLIGHT = 7  # any one of http.csrf_headers, non-empty
_AC_METHOD = 8
_AC_HEADERS = 9
_SLOTS = 10


class Operation:
    """One admitted GraphQL request: a valid document and the operation it runs.

    The outcomes of admission are plain classes, not dataclasses: compiled, a frozen dataclass
    keeps its generated Python ``__init__``, which sets each field through ``object.__setattr__``
    (some 8K instructions per object; these are built for every request)."""

    def __init__(
        self,
        *,
        query: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        extensions: dict[str, Any] | None,
        cost_recheck: CostRecheck | None = None,
        execution: DocumentExecution | None = None,
    ) -> None:
        self.query: Final = query
        self.document: Final = document
        self.operation: Final = operation
        self.operation_name: Final = operation_name
        self.variables: Final = variables
        self.extensions: Final = extensions
        self.cost_recheck: Final = cost_recheck
        """Its cost depends on variables: checked once they are coerced."""
        self.execution: Final = execution
        """What executing its document needs, kept with the prepared document; ``None``:
        ``ExecutionContext.build`` finds it all."""


class Admitted:
    def __init__(
        self,
        media: ResponseMedia,
        caller: Caller,
        requests: Operation | list[Operation | RequestError],
        headers: list[tuple[bytes, bytes]],
        *,
        stream: bool = False,
    ) -> None:
        self.media: Final = media
        self.caller: Final = caller
        self.requests: Final = requests
        """One operation, or a batch whose entries were admitted one by one."""
        self.headers: Final = headers
        """Added to the response (CORS)."""
        self.stream: Final = stream
        """Answered as Server-Sent Events (``Accept: text/event-stream``): one operation, never a batch."""


class Refused:
    def __init__(self, error: RequestError, media: ResponseMedia, headers: list[tuple[bytes, bytes]]) -> None:
        self.error: Final = error
        self.media: Final = media
        self.headers: Final = headers


class GraphiQLPage:
    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers: Final = headers


class Preflight:
    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers: Final = headers


Outcome = Admitted | Refused | GraphiQLPage | Preflight


class ClientGone(Exception):
    """The client disconnected before its request was complete: nothing is answered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmissionRules:
    max_body_bytes: int
    graphiql: bool
    csrf_prevention: bool
    csrf_headers: Sequence[str]
    batching: bool
    max_batch: int
    event_stream: bool = False
    """Offer ``text/event-stream`` (GraphQL over SSE, distinct connections)."""


class Admission:
    def __init__(
        self,
        *,
        rules: AdmissionRules,
        contexts: RequestContexts,
        documents: Documents,
        persisted: PersistedDocuments,
        cors: CorsPolicy,
    ) -> None:
        self.rules = rules
        self.contexts = contexts
        self.callers: CallerIdentity = contexts.callers
        self.documents = documents
        self.persisted = persisted
        self.cors = cors
        self.negotiator = Negotiator()
        wanted = {
            b"content-type": _CONTENT_TYPE,
            b"accept": _ACCEPT,
            b"authorization": _AUTHORIZATION,
            contexts.deadline.header.lower().encode("latin-1"): _DEADLINE,
            b"content-length": _LENGTH,
            b"origin": _ORIGIN,
            b"host": _HOST,
            b"access-control-request-method": _AC_METHOD,
            b"access-control-request-headers": _AC_HEADERS,
        }
        wanted.update({header.lower().encode("latin-1"): _PREFLIGHT for header in rules.csrf_headers})
        self._wanted = wanted

    def _scan(self, headers: Headers) -> list[bytes | None]:
        """The first value of each header admission reads (a preflight header only if non-empty)."""
        values: list[bytes | None] = [None] * _SLOTS
        wanted = self._wanted
        for name, value in headers:
            slot = wanted.get(name)
            if slot is not None and values[slot] is None and (value or slot != _PREFLIGHT):
                values[slot] = value
        return values

    async def admit(self, scope: Scope, receive: Receive) -> Outcome:
        values = self._scan(scope["headers"])
        origin = _text(values[_ORIGIN])
        cors = self.cors.response_headers(origin) if origin is not None else []
        method: str = scope["method"]
        media = RESPONSE_MEDIA[JSON]
        try:
            if method == "OPTIONS":
                cors = [(b"vary", b"Origin")]  # a refused preflight lets the page read nothing
                return self._options(values, origin)
            if method not in ("GET", "POST"):
                raise refused(
                    f"{method[:20]} is not supported: send GraphQL requests with GET or POST",
                    "METHOD_NOT_ALLOWED",
                    405,
                    allow=ALLOW,
                )
            params = query_parameters(scope["query_string"], self.rules.max_body_bytes) if method == "GET" else None
            page = self.rules.graphiql and params is not None and not names_a_document(params)
            accept = _text(values[_ACCEPT])
            offered = OFFERED_WITH_PAGE if page else OFFERED
            chosen = self.negotiator.choose(accept, (*offered, EVENT_STREAM) if self.rules.event_stream else offered)
            if chosen is None:
                raise refused(
                    "none of the media types in Accept can be served: ask for "
                    "application/graphql-response+json or application/json",
                    "NOT_ACCEPTABLE",
                    406,
                )
            if chosen == HTML:
                return GraphiQLPage(cors)
            stream = chosen == EVENT_STREAM
            media = RESPONSE_MEDIA[GRAPHQL_RESPONSE if stream else chosen]  # a refusal is never a stream
            if self.rules.csrf_prevention:
                self._check_csrf(values)
            caller = await self._caller(_text(values[_AUTHORIZATION]))
            budget_s = self.contexts.budget_s(_text(values[_DEADLINE]))
            if budget_s is None:
                raise refused(f"{self.contexts.deadline.header} must be a positive number of milliseconds")
            if not stream:  # a stream lives as long as its subscription (as over a WebSocket)
                self.contexts.begin(budget_s)
            if params is not None:
                requests: Operation | list[Operation | RequestError] = await self._operation(
                    params, "GET", stream=stream
                )
            else:
                requests = await self._posted(values, receive, stream=stream)
            if stream and not isinstance(requests, Operation):
                raise refused("a batch cannot be answered as an event stream: send one request", "BATCHING_NOT_ENABLED")
            return Admitted(media, caller, requests, cors, stream=stream)
        except RequestError as error:
            return Refused(error, media, cors)

    async def admit_websocket(self, scope: Scope) -> Caller:
        """The caller of a WebSocket handshake; a ``RequestError`` for a page of an origin
        ``http.cors`` does not allow, or a credential that names nobody."""
        values = self._scan(scope["headers"])
        if not self.cors.allows_websocket(_text(values[_ORIGIN]), _text(values[_HOST])):
            raise refused("this origin may not open a WebSocket here", "FORBIDDEN", 403)
        return await self._caller(_text(values[_AUTHORIZATION]))

    def _options(self, values: list[bytes | None], origin: str | None) -> Preflight:
        requested = _text(values[_AC_METHOD])
        if origin is None or requested is None or not self.cors.enabled:
            return Preflight([(b"allow", ALLOW.encode())])
        return Preflight(self.cors.preflight(origin, requested, _text(values[_AC_HEADERS])))

    def _check_csrf(self, values: list[bytes | None]) -> None:
        if values[_PREFLIGHT] is not None:
            return
        content_type = _text(values[_CONTENT_TYPE])
        if content_type is not None and parse_media_type(content_type).essence not in SIMPLE_CONTENT_TYPES:
            return
        raise refused(
            "this request has been blocked as a potential cross-site request forgery: send a Content-Type "
            "other than text/plain, multipart/form-data or application/x-www-form-urlencoded, or a non-empty "
            f"{' or '.join(self.rules.csrf_headers)} header",
            "CSRF_PREFLIGHT_REQUIRED",
        )

    async def _caller(self, authorization: str | None) -> Caller:
        try:
            return await self.callers.identify(authorization)
        except UnknownCaller as unknown:
            challenge = {"www_authenticate": unknown.www_authenticate} if unknown.status == 401 else {}
            raise refused(unknown.reason, unknown.code, unknown.status, **challenge) from None

    async def _posted(
        self, values: list[bytes | None], receive: Receive, *, stream: bool
    ) -> Operation | list[Operation | RequestError]:
        content_type = values[_CONTENT_TYPE]
        if content_type != b"application/json":
            check_json(_text(content_type))
        body = await self._body(values[_LENGTH], receive)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise refused("the body is not JSON (in UTF-8)") from None
        if isinstance(data, dict):
            return await self._operation(data, "POST", stream=stream)
        if not isinstance(data, list):
            raise refused("the body must be a JSON object: {query, variables, operationName, extensions}")
        if not self.rules.batching:
            raise refused("batched requests are not enabled here: send one request per POST", "BATCHING_NOT_ENABLED")
        if not 0 < len(data) <= self.rules.max_batch:
            raise refused(f"a batch holds 1 to {self.rules.max_batch} requests", "BATCH_TOO_LARGE")
        entries: list[Operation | RequestError] = []
        for entry in data:
            try:
                entries.append(await self._operation(entry, "POST", stream=stream))
            except RequestError as error:
                entries.append(error)
        return entries

    async def _body(self, length: bytes | None, receive: Receive) -> bytes:
        limit = self.rules.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            raise too_large(limit)
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _operation(self, data: Any, method: str, *, stream: bool = False) -> Operation:
        sent = Parameters.of(data)
        query = sent.query
        if sent.document_id is not None or self.persisted.required:
            query = await self.persisted.text(query, sent.document_id)
        elif query is None:
            raise refused("the request has no `query` (nor a persisted document id)")
        prepared = self.documents.prepare(query)
        if prepared.errors or prepared.document is None:
            raise RequestError(prepared.errors)
        if sent.document_id is not None and sent.query is not None:
            await self.persisted.keep(sent.document_id, query)
        operation = prepared.operation(sent.operation_name)
        if isinstance(operation, GraphQLError):
            raise RequestError([operation])
        if operation.operation is OperationType.SUBSCRIPTION and not stream:
            raise refused(
                "a subscription is answered as a stream: send it with Accept: text/event-stream, or over a WebSocket",
                "NOT_ACCEPTABLE",
                406,
            )
        if method == "GET" and operation.operation is OperationType.MUTATION:
            raise refused(
                f"a {operation.operation.value} cannot be sent with GET: use POST",
                "METHOD_NOT_ALLOWED",
                405,
                allow="POST",
            )
        return Operation(
            query=query,
            document=prepared.document,
            operation=operation,
            operation_name=sent.operation_name,
            variables=sent.variables,
            extensions=sent.extensions,
            cost_recheck=self.documents.cost_recheck(prepared, operation),
            execution=prepared.execution,
        )


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
