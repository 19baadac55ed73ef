"""The one executor entry for ``/graphql``, and every response it sends.

An admitted operation (``mobius.admission``) is answered from the response cache when it holds
it (``Mobius-Cache: HIT``), else executed on graphql-core's executor with the gateway's planned
execution context (``schema.execution``; Strawberry's own with ``execution.planned`` off), its
errors shaped in the one place errors are mapped (``schema.errors``), stale values marked, the
answer sent, then the request's loaded values released (freeing them is not on the response's
path; no loop turn runs between the end of execution and the send unless the connection pushes
back), and the answer stored when it may be reused (``MISS``;
``BYPASS`` when it is not a cacheable query). The header is only sent when the response cache is
on.

Status codes follow GraphQL over HTTP: an executed operation is 200 (with ``data``, and
``errors`` for field errors); a request error has no ``data`` and is 400 under
``application/graphql-response+json``, 200 under ``application/json``; variables that do not
coerce are such an error (``BAD_USER_INPUT``), and so is an operation whose cost, measured with
the coerced variables, is over ``limits.max_cost`` (``GRAPHQL_VALIDATION_FAILED``), and so are
malformed ``_entities`` representations (``BAD_USER_INPUT``). A refusal keeps its own status. An
operation that fails is logged (``operation_failed``) with its variables, PII blanked (``schema.pii``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeGuard, cast

import orjson
import structlog
from graphql import ExecutionResult, GraphQLError
from graphql.execution.values import VariableValues
from starlette.types import Send

from mobius.admission import Admitted, Operation, Refused
from mobius.context import RequestContexts
from mobius.execution_setup import ExecutionSetup
from mobius.media import ResponseMedia
from mobius.request_errors import RequestError
from resolvers.cache import CacheableDocuments
from schema.awaitable import is_awaitable
from schema.cache import stale_extensions
from schema.context import Caller, GatewayContext
from schema.entities import Representations
from schema.errors import shaped_errors
from schema.operations import coded
from schema.pii import PiiFields
from schema.root import MobiusSchema
from schema.telemetry import OperationTelemetry, refused_errors

CACHE_HEADER = b"mobius-cache"
IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", is_awaitable)
"""Strawberry's cheaper ``isawaitable`` (what its own execution passes), remembered by type."""
BAD_USER_INPUT = "BAD_USER_INPUT"
log = structlog.get_logger("mobius.executor")


class _Answer:
    """A plain class: compiled, a frozen dataclass keeps its Python ``__init__`` (one per request)."""

    def __init__(self, payload: dict[str, Any], *, request_error: bool, cacheable: bool) -> None:
        self.payload: Final = payload
        self.request_error: Final = request_error
        """Refused before execution (variables that do not coerce): no ``data``."""
        self.cacheable: Final = cacheable


class Executor:
    def __init__(
        self,
        *,
        schema: MobiusSchema,
        contexts: RequestContexts,
        cacheable: CacheableDocuments,
        suggestions: bool,
        operations: OperationTelemetry | None = None,
    ) -> None:
        """``operations`` puts each operation in metrics, traces and the request log."""
        self.operations = operations or OperationTelemetry()
        self.setup = ExecutionSetup(schema, is_awaitable=IS_AWAITABLE, hide_suggestions=not suggestions)
        self.contexts = contexts
        self.cacheable = cacheable
        self.representations = Representations(schema)
        self.pii = PiiFields(schema._schema)

    async def answer(self, admitted: Admitted, send: Send) -> None:
        """Run what was admitted and send the response: one operation, or a batch (whose
        entries run side by side, each with its own loaders, and are not cached)."""
        requests = admitted.requests
        if isinstance(requests, Operation):
            await self._single(admitted, requests, send)
            return
        payloads = await asyncio.gather(*(self._entry(request, admitted.caller) for request in requests))
        await respond(send, 200, orjson.dumps(payloads), admitted.media, admitted.headers)

    async def _entry(self, request: Operation | RequestError, caller: Caller) -> dict[str, Any]:
        if isinstance(request, RequestError):
            return errors_payload(request)
        context = self.contexts.new(caller)
        try:
            return (await self._run(request, context)).payload
        finally:
            context.release()

    async def _single(self, admitted: Admitted, operation: Operation, send: Send) -> None:
        responses = self.contexts.responses
        headers = admitted.headers
        media = admitted.media
        key = None
        if responses is not None:
            if self.cacheable(operation.query, operation.operation_name):
                key = responses.key(
                    operation.query, operation.operation_name, operation.variables, _identity(admitted.caller)
                )
                stored = await responses.get(key)
                if stored is not None:
                    await respond(send, 200, stored, media, [*headers, (CACHE_HEADER, b"HIT")])
                    self.operations.served_stored(operation.query, operation.operation_name, admitted.caller.name)
                    return
                headers = [*headers, (CACHE_HEADER, b"MISS")]
                self.operations.cache_verdict("MISS")
            else:
                responses.bypass()
                headers = [*headers, (CACHE_HEADER, b"BYPASS")]
                self.operations.cache_verdict("BYPASS")
        generation = responses.generation if responses is not None else 0
        context = self.contexts.new(admitted.caller, provenance=key is not None)
        try:
            answer = await self._run(operation, context)
            body = orjson.dumps(answer.payload)
            write = None
            if key is not None and responses is not None:
                provenance = context.loaders.cache.provenance if context.loaders.cache is not None else None
                if provenance is None or not answer.cacheable or context.degraded:
                    responses.skip()
                else:
                    write = responses.keep(key, body, provenance, generation)
            status = 200 if not answer.request_error or media.legacy else 400
            await respond(send, status, body, media, headers)
        finally:
            context.release()  # after the body is sent: freeing what the request loaded is not on its path
        if write is not None and responses is not None:
            await responses.write(write)

    async def _run(self, operation: Operation, context: GatewayContext) -> _Answer:
        observed = self.operations.begin(operation.query)
        try:
            observed.name = operation.operation_name or (
                operation.operation.name.value if operation.operation.name else None
            )
            observed.type = operation.operation.operation.value
            answer, errors = await self._execute(operation, context)
            self.operations.finish(observed, data_present=answer.payload.get("data") is not None, errors=errors)
        finally:
            self.operations.end(observed)
        if errors:
            log.info(
                "operation_failed",
                operation_name=observed.name,
                error_codes=sorted({str((error.extensions or {}).get("code")) for error in errors}),
                variables=self.pii.blank(operation.document, operation.variables),
            )
        return answer

    async def _execute(self, operation: Operation, context: GatewayContext) -> tuple[_Answer, Sequence[GraphQLError]]:
        executor = self.setup.build(operation, context)
        if isinstance(executor, list):
            refusal = RequestError([coded(error, BAD_USER_INPUT) for error in executor])
            return _Answer(errors_payload(refusal), request_error=True, cacheable=False), refusal.errors
        refused = self._refused(operation, executor.variable_values)
        if refused is not None:
            refusal = RequestError([refused])
            return _Answer(errors_payload(refusal), request_error=True, cacheable=False), refusal.errors
        result = executor.execute_operation()
        if IS_AWAITABLE(result):
            result = await result
        assert isinstance(result, ExecutionResult)  # the schema has no @defer or @stream
        errors = shaped_errors(result.errors, context.degraded)
        extensions = stale_extensions(context)
        payload: dict[str, Any] = {"data": result.data}
        if errors:
            payload["errors"] = [error.formatted for error in errors]
        if extensions:
            payload["extensions"] = extensions
        return _Answer(payload, request_error=False, cacheable=not errors and not extensions), errors or ()

    def _refused(self, operation: Operation, variables: VariableValues) -> GraphQLError | None:
        """What the coerced variables make a request error: a cost over the limit, malformed
        ``_entities`` representations."""
        if operation.cost_recheck is not None:
            too_costly = operation.cost_recheck(variables.coerced)
            if too_costly is not None:
                return too_costly
        return self.representations.operation_error(operation.query, operation.document, operation.operation, variables)


def errors_payload(error: RequestError) -> dict[str, Any]:
    return {"errors": [graphql_error.formatted for graphql_error in error.errors]}


def _identity(caller: Caller) -> tuple[str, list[str], str | None, bool]:
    """Everything about the caller a response may depend on: the authorization rules check whether
    it is authenticated and its scopes, ``viewer`` is the caller's user."""
    return caller.name, sorted(caller.scopes), caller.user_id, caller.authenticated


async def refuse(send: Send, refused: Refused) -> None:
    """A request refused by admission: its own status, or a GraphQL request error's."""
    error = refused.error
    refused_errors(error.errors)
    status = error.status if error.status is not None else (200 if refused.media.legacy else 400)
    body = orjson.dumps(errors_payload(error))
    await respond(send, status, body, refused.media, [*refused.headers, *error.headers])


async def respond(
    send: Send, status: int, body: bytes, media: ResponseMedia, headers: Sequence[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", media.content_type), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
