"""A GraphQL upstream through gql's public client API, on the upstream's own HTTP path.

gql's ``Client`` and session run the documents; the transport under them is ours (``AsyncTransport``
is gql's extension point for that): it posts each document through ``HttpUpstream.exchange``, so a
GraphQL call gets the same auth flow, the same aiohttp session and the same error mapping as a
REST call, and the HTTP status and headers of every answer are seen before the body is trusted.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.async_transport import AsyncTransport
from gql.transport.exceptions import TransportQueryError
from graphql import DocumentNode, ExecutionResult, FieldNode, OperationDefinitionNode, OperationType, print_ast

from clients.errors import (
    RateLimited,
    UpstreamInvalidResponse,
    UpstreamUnavailable,
    error_for_status,
    graphql_outage,
)
from clients.http import HttpUpstream
from clients.messages import OutgoingRequest


@dataclass(frozen=True, slots=True)
class GraphQLResult:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]
    extensions: dict[str, Any] | None


def is_mutation(document: DocumentNode) -> bool:
    return any(
        isinstance(definition, OperationDefinitionNode) and definition.operation is OperationType.MUTATION
        for definition in document.definitions
    )


_PRINTED_MAX = 1024
_printed: dict[int, tuple[DocumentNode, str]] = {}


def printed_query(document: DocumentNode) -> str:
    """The document's text, printed once per document object.

    Upstream documents are long-lived (module constants or LRU-cached per shape), and printing
    one costs more than the rest of an upstream call, so the text is kept beside it (bounded).
    """
    hit = _printed.get(id(document))
    if hit is not None and hit[0] is document:
        return hit[1]
    if len(_printed) >= _PRINTED_MAX:
        _printed.clear()
    text = print_ast(document)
    _printed[id(document)] = (document, text)
    return text


_routes: dict[int, tuple[DocumentNode, str]] = {}


def graphql_route(document: DocumentNode) -> str:
    """An upstream document as a route: its operation type and root fields (``query nodes``).
    The gateway writes these documents, so the routes are as few as the upstream's root fields."""
    hit = _routes.get(id(document))
    if hit is not None and hit[0] is document:
        return hit[1]
    operation = next(
        (definition for definition in document.definitions if isinstance(definition, OperationDefinitionNode)), None
    )
    if operation is None:
        return "graphql"
    fields = sorted(
        {selection.name.value for selection in operation.selection_set.selections if isinstance(selection, FieldNode)}
    )
    route = f"{operation.operation.value} {','.join(fields)}"
    if len(_routes) >= _PRINTED_MAX:
        _routes.clear()
    _routes[id(document)] = (document, route)
    return route


class UpstreamTransport(AsyncTransport):
    """gql's transport over ``HttpUpstream``: one POST per document through the upstream's auth
    flow. A status that is not a success is the upstream's error; a body that is not a GraphQL
    result is ``UpstreamInvalidResponse``. The session's lifetime is the ``HttpUpstream``'s."""

    def __init__(self, http: HttpUpstream, path: str) -> None:
        self.http = http
        self.path = path

    async def connect(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

    async def execute(self, request: GraphQLRequest, *, headers: Mapping[str, str] | None = None) -> ExecutionResult:
        payload: dict[str, Any] = {"query": printed_query(request.document)}
        if request.variable_values:
            payload["variables"] = request.variable_values
        outgoing = OutgoingRequest(
            method="POST",
            path_qs=self.path,
            body=orjson.dumps(payload),
            headers={"Accept": "application/json", "Content-Type": "application/json", **(headers or {})},
        )
        response = await self.http.exchange(outgoing)
        if response.status >= 400:
            raise error_for_status(response.status, upstream=self.http.name)
        return self._result(response.body)

    def _result(self, body: bytes) -> ExecutionResult:
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamInvalidResponse("answer is not a GraphQL result", upstream=self.http.name) from None
        if not isinstance(answer, dict) or ("data" not in answer and "errors" not in answer):
            raise UpstreamInvalidResponse("answer is not a GraphQL result", upstream=self.http.name)
        data, errors, extensions = answer.get("data"), answer.get("errors"), answer.get("extensions")
        if (data is not None and not isinstance(data, dict)) or (errors is not None and not isinstance(errors, list)):
            raise UpstreamInvalidResponse("GraphQL result has an invalid shape", upstream=self.http.name)
        if data is None and not errors:
            raise UpstreamInvalidResponse("GraphQL result has neither data nor errors", upstream=self.http.name)
        return ExecutionResult(data=data, errors=errors, extensions=extensions)

    def subscribe(self, request: GraphQLRequest) -> AsyncGenerator[ExecutionResult, None]:
        raise NotImplementedError("the gateway sends queries and mutations only")


class GraphQLUpstream:
    """Queries are retried; a mutation only when it is sent with an idempotency key."""

    def __init__(self, http: HttpUpstream, *, path: str = "/graphql") -> None:
        self.http = http
        self.policy = http.policy
        self.name = http.name
        self.pipeline = http.pipeline
        self.shared_reads = http.shared_reads
        self._client = Client(transport=UpstreamTransport(http, path), execute_timeout=None)
        self._session: AsyncClientSession | None = None

    @property
    def started(self) -> bool:
        return self._session is not None

    async def start(self) -> None:
        if self._session is None:
            self._session = await self._client.connect_async()

    async def close(self) -> None:
        if self._session is not None:
            await self._client.close_async()
            self._session = None

    async def execute(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> GraphQLResult:
        session = self._session
        if session is None:
            raise UpstreamUnavailable("client is not started", upstream=self.name)
        request = GraphQLRequest(document, variable_values=variables)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        shared = self.shared_reads
        if is_mutation(document):
            shared.wrote()
            return await self._execute(session, request, headers, idempotent=idempotency_key is not None)
        if shared.enabled and not headers:
            key = (printed_query(document), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
            return await shared.read(key, partial(self._execute, session, request, headers, idempotent=True))
        return await self._execute(session, request, headers, idempotent=True)

    async def _execute(
        self, session: AsyncClientSession, request: GraphQLRequest, headers: dict[str, str], *, idempotent: bool
    ) -> GraphQLResult:
        return await self.pipeline.call(
            partial(self._attempt, session, request, headers),
            idempotent=idempotent,
            route=graphql_route(request.document),
        )

    async def _attempt(
        self, session: AsyncClientSession, request: GraphQLRequest, headers: dict[str, str]
    ) -> GraphQLResult:
        """One attempt; an outage reported inside a 200 is raised for the pipeline like an HTTP one."""
        try:
            result = await session.execute(request, get_execution_result=True, headers=headers)
            answer = GraphQLResult(data=result.data, errors=[], extensions=result.extensions)
        except TransportQueryError as partial_answer:
            answer = GraphQLResult(
                data=partial_answer.data,
                errors=[
                    error if isinstance(error, dict) else {"message": str(error)}
                    for error in partial_answer.errors or []
                ],
                extensions=partial_answer.extensions if isinstance(partial_answer.extensions, dict) else None,
            )
        self._note_rate_limit(answer)
        outage = graphql_outage(self.name, answer.data, answer.errors)
        if outage is not None:
            if isinstance(outage, RateLimited) and outage.retry_after_s:
                await self.pipeline.limiter.hold(outage.retry_after_s)
            raise outage
        return answer

    def _note_rate_limit(self, answer: GraphQLResult) -> None:
        """GitHub-style ``extensions.rateLimit.remaining`` (the projects upstream reports it)."""
        rate_limit = (answer.extensions or {}).get("rateLimit")
        remaining = rate_limit.get("remaining") if isinstance(rate_limit, dict) else None
        if isinstance(remaining, int):
            self.pipeline.limiter.note_remaining(remaining)
