"""A GraphQL upstream on the upstream's own HTTP path.

Each document is posted through ``HttpUpstream.exchange``, so a GraphQL call gets the same auth,
the same aiohttp session and the same error mapping as a REST call, and the HTTP status and
headers of every answer are seen before the body is trusted; the pipeline's attempt timeout
bounds it.

A query can name the type of its ``data`` (an ``Answer`` codec): a clean answer (data and no
errors) is then decoded into it in one pass from the response bytes; any other answer (errors,
or data that does not match the type) comes back as plain JSON, for the caller to tell which of
its parts failed.

Compiled: ``execute`` and the attempt are coroutine layers of every call, resumed at each of its waits.
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from typing import Any, Final

import msgspec
import orjson
from graphql import DocumentNode, ExecutionResult, FieldNode, OperationDefinitionNode, OperationType, print_ast

from clients.codec import Invalid
from clients.errors import (
    RateLimited,
    UpstreamInvalidResponse,
    UpstreamUnavailable,
    error_for_status,
    graphql_outage,
)
from clients.graphql_answer import AnswerCodec
from clients.http import HttpUpstream
from clients.memo import keep
from clients.messages import OutgoingRequest


class GraphQLResult:
    """``typed`` is the data decoded into the request's type (``data`` is then ``None``), when the
    request named one and the answer was clean. A plain class with read-only fields (compiled, a
    dataclass would keep its generated Python ``__init__``)."""

    def __init__(
        self,
        data: dict[str, Any] | None,
        errors: list[dict[str, Any]],
        extensions: dict[str, Any] | None,
        typed: Any = None,
    ) -> None:
        self.data: Final[dict[str, Any] | None] = data
        self.errors: Final[list[dict[str, Any]]] = errors
        self.extensions: Final[dict[str, Any] | None] = extensions
        self.typed: Final[Any] = typed


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
    return keep(_printed, id(document), (document, print_ast(document)), _PRINTED_MAX)[1]


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
    return keep(_routes, id(document), (document, route), _PRINTED_MAX)[1]


def read_result(body: bytes, *, upstream: str, answer: AnswerCodec | None = None) -> ExecutionResult:
    """A GraphQL result from a response body: with ``answer``, a clean one's ``data`` is of its
    data type; else plain JSON. ``UpstreamInvalidResponse`` for a body that is not a result."""
    if answer is not None:
        try:
            typed = answer.decode(body)
        except Invalid:
            typed = None
        if typed is not None and typed.data is not None and typed.errors is msgspec.UNSET:
            return ExecutionResult(data=typed.data, extensions=typed.extensions)
    try:
        loaded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamInvalidResponse("answer is not a GraphQL result", upstream=upstream) from None
    if not isinstance(loaded, dict) or ("data" not in loaded and "errors" not in loaded):
        raise UpstreamInvalidResponse("answer is not a GraphQL result", upstream=upstream)
    data, errors, extensions = loaded.get("data"), loaded.get("errors"), loaded.get("extensions")
    if (data is not None and not isinstance(data, dict)) or (errors is not None and not isinstance(errors, list)):
        raise UpstreamInvalidResponse("GraphQL result has an invalid shape", upstream=upstream)
    if data is None and not errors:
        raise UpstreamInvalidResponse("GraphQL result has neither data nor errors", upstream=upstream)
    return ExecutionResult(data=data, errors=errors, extensions=extensions)


class GraphQLUpstream:
    """Queries are retried; a mutation only when it is sent with an idempotency key.

    Each attempt posts the document through ``HttpUpstream.exchange``: a status that is not a
    success is the upstream's error; a body that is not a GraphQL result is
    ``UpstreamInvalidResponse``. Its session's lifetime is the ``HttpUpstream``'s."""

    def __init__(self, http: HttpUpstream, *, path: str = "/graphql") -> None:
        self.http = http
        self.policy = http.policy
        self.name = http.name
        self.pipeline = http.pipeline
        self.shared_reads = http.shared_reads
        self.path = path

    @property
    def started(self) -> bool:
        return self.http.started

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

    async def execute(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        answer: AnswerCodec | None = None,
    ) -> GraphQLResult:
        """``answer``: the type of a query's data (see the module's docstring)."""
        if not self.http.started:
            raise UpstreamUnavailable("client is not started", upstream=self.name)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        shared = self.shared_reads
        if is_mutation(document):
            shared.wrote()
            return await self._execute(document, variables, headers, answer, idempotent=idempotency_key is not None)
        if shared.enabled and not headers:
            key = (printed_query(document), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS), id(answer))
            return await shared.read(key, partial(self._execute, document, variables, headers, answer, idempotent=True))
        return await self._execute(document, variables, headers, answer, idempotent=True)

    def _execute(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        headers: dict[str, str],
        answer: AnswerCodec | None,
        *,
        idempotent: bool,
    ) -> Awaitable[GraphQLResult]:
        """The pipeline's call (its coroutine, none more)."""
        return self.pipeline.call(
            partial(self._attempt, document, variables, headers, answer),
            idempotent=idempotent,
            route=graphql_route(document),
        )

    async def _attempt(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        headers: dict[str, str],
        typed: AnswerCodec | None,
    ) -> GraphQLResult:
        """One attempt; an outage reported inside a 200 is raised for the pipeline like an HTTP one."""
        payload: dict[str, Any] = {"query": printed_query(document)}
        if variables:
            payload["variables"] = variables
        outgoing = OutgoingRequest(
            method="POST",
            path_qs=self.path,
            body=orjson.dumps(payload),
            headers={"Accept": "application/json", "Content-Type": "application/json", **headers},
        )
        response = await self.http.exchange(outgoing)
        if response.status >= 400:
            raise error_for_status(response.status, upstream=self.name)
        # Any: a typed answer's data is its Struct, not the dict ``ExecutionResult`` declares (the
        # compiled module would check the declared type on reading it).
        result: Any = read_result(response.body, upstream=self.name, answer=typed)
        data = result.data
        extensions = result.extensions if isinstance(result.extensions, dict) else None
        if result.errors:
            answer = GraphQLResult(
                data=data,
                errors=[error if isinstance(error, dict) else {"message": str(error)} for error in result.errors],
                extensions=extensions,
            )
        elif typed is not None and not isinstance(data, dict):
            answer = GraphQLResult(data=None, errors=[], extensions=extensions, typed=data)
        else:
            answer = GraphQLResult(data=data, errors=[], extensions=extensions)
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
