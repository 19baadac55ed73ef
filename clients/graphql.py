"""A GraphQL upstream on gql's aiohttp transport, behind the same auth flow and error tree."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import orjson
from gql import GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportServerError,
)
from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode, OperationType, print_ast
from multidict import CIMultiDict

from clients.auth import Auth, credential_errors
from clients.errors import (
    RateLimited,
    UpstreamError,
    UpstreamInvalidResponse,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_for_status,
)
from clients.http import build_pipeline, json_text, map_exceptions, open_session
from clients.messages import OutgoingRequest, RawResponse
from clients.policy import UpstreamPolicy
from clients.resilience.clock import TimeSource
from clients.resilience.ratelimit_store import RateLimitStore
from clients.shared_reads import SharedReads


class _HttpStatusError(TransportServerError):
    """A 4xx/5xx answer, with the headers that say when to come back."""

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}", status)
        self.headers = headers


class _ResultWithHeaders(ExecutionResult):
    """gql keeps only the latest response's headers on the shared transport; we need each one's."""

    __slots__ = ("headers",)

    def __init__(self, result: ExecutionResult, headers: Mapping[str, str]) -> None:
        super().__init__(data=result.data, errors=result.errors, extensions=result.extensions)
        self.headers = headers


class _StatusAwareTransport(AIOHTTPTransport):
    """gql accepts a 4xx/5xx whose body looks like GraphQL; we need its status and headers first."""

    async def _prepare_result(self, response: aiohttp.ClientResponse) -> ExecutionResult:
        if response.status >= 400:
            raise _HttpStatusError(response.status, CIMultiDict(response.headers))
        return _ResultWithHeaders(await super()._prepare_result(response), CIMultiDict(response.headers))


_RATE_LIMITED_CODES = frozenset({"RATE_LIMITED", "THROTTLED", "TOO_MANY_REQUESTS"})
_UNAVAILABLE_CODES = frozenset({"SERVICE_UNAVAILABLE", "UPSTREAM_UNAVAILABLE", "BAD_GATEWAY", "UNAVAILABLE"})
_TIMEOUT_CODES = frozenset({"TIMEOUT", "GATEWAY_TIMEOUT", "DEADLINE_EXCEEDED"})
_SERVER_ERROR_CODES = frozenset({"INTERNAL_SERVER_ERROR", "INTERNAL", "INTERNAL_ERROR"})


def outage_in(result: GraphQLResult, *, upstream: str) -> UpstreamError | None:
    """A whole-request failure reported inside an HTTP 200 (no data, and an outage-like
    ``errors[].extensions.code``). Per-field errors next to data are the caller's to map, and so
    is an error located below a root field: a non-null parent can null all the data for it, but
    it is that field's failure, not the upstream's."""
    if result.data is not None:
        return None
    for error in result.errors:
        path = error.get("path")
        if isinstance(path, list) and len(path) > 1:
            continue
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if code in _RATE_LIMITED_CODES:
            retry_after = extensions.get("retryAfter") if isinstance(extensions, dict) else None
            return RateLimited(
                "upstream rate limit exceeded",
                upstream=upstream,
                retry_after_s=float(retry_after) if isinstance(retry_after, int | float) else None,
            )
        if code in _UNAVAILABLE_CODES:
            return UpstreamUnavailable(f"upstream reported {code}", upstream=upstream)
        if code in _TIMEOUT_CODES:
            return UpstreamTimeout(f"upstream reported {code}", upstream=upstream)
        if code in _SERVER_ERROR_CODES:
            return UpstreamServerError(f"upstream reported {code}", upstream=upstream)
    return None


def is_mutation(document: DocumentNode) -> bool:
    return any(
        isinstance(definition, OperationDefinitionNode) and definition.operation is OperationType.MUTATION
        for definition in document.definitions
    )


_OK = RawResponse(status=200, headers={}, body=b"")
_PRINTED_MAX = 1024
_printed: dict[int, tuple[DocumentNode, str]] = {}


def printed_query(document: DocumentNode) -> str:
    """The document's text, printed once per document object.

    Upstream documents are long-lived (module constants or LRU-cached per batch size), and printing
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


class _PrintedOnceRequest(GraphQLRequest):
    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": printed_query(self.document)}
        if self.variable_values:
            payload["variables"] = self.variable_values
        return payload


@dataclass(frozen=True, slots=True)
class GraphQLResult:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]
    extensions: dict[str, Any] | None


@contextmanager
def _map_gql_exceptions(upstream: str) -> Iterator[None]:
    """gql's own errors; the aiohttp and timeout errors it wraps go to ``map_exceptions``."""
    with map_exceptions(upstream):
        try:
            yield
        except TransportProtocolError:
            raise UpstreamInvalidResponse("answer is not a GraphQL result", upstream=upstream) from None
        except TransportConnectionFailed as exc:
            if isinstance(exc.__cause__, TimeoutError | aiohttp.ClientError):
                raise exc.__cause__ from None
            raise UpstreamUnavailable("upstream connection failed", upstream=upstream) from None
        except TransportError as exc:
            raise UpstreamUnavailable(f"upstream connection failed ({type(exc).__name__})", upstream=upstream) from None


class GraphQLUpstream:
    """Queries are retried; a mutation only when it is sent with an idempotency key."""

    def __init__(
        self,
        policy: UpstreamPolicy,
        auth: Auth,
        *,
        path: str = "/graphql",
        rate_limit_store: RateLimitStore | None = None,
        time: TimeSource | None = None,
    ) -> None:
        self.policy = policy
        self.name = policy.name
        self.pipeline = build_pipeline(policy, store=rate_limit_store, time=time)
        self._auth = auth
        self._path = path
        self._transport: _StatusAwareTransport | None = None
        self.shared_reads = SharedReads(policy.name, enabled=policy.share_reads)

    @property
    def started(self) -> bool:
        return self._transport is not None

    async def start(self) -> None:
        if self._transport is not None:
            return
        transport = _StatusAwareTransport(
            url=self.policy.base_url.rstrip("/") + self._path,
            json_serialize=json_text,
            json_deserialize=orjson.loads,
        )
        transport.session = open_session(self.policy, self._auth)
        self._transport = transport

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    async def execute(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> GraphQLResult:
        transport = self._transport
        if transport is None:
            raise UpstreamUnavailable("client is not started", upstream=self.name)
        request = _PrintedOnceRequest(document, variable_values=variables)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        shared = self.shared_reads
        if is_mutation(document):
            shared.wrote()
            return await self._execute(transport, request, headers, idempotent=idempotency_key is not None)
        if shared.enabled and not headers:
            key = (printed_query(document), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
            return await shared.read(key, partial(self._execute, transport, request, headers, idempotent=True))
        return await self._execute(transport, request, headers, idempotent=True)

    async def _execute(
        self, transport: _StatusAwareTransport, request: GraphQLRequest, headers: dict[str, str], *, idempotent: bool
    ) -> GraphQLResult:
        return await self.pipeline.call(partial(self._attempt, transport, request, headers), idempotent=idempotent)

    async def _attempt(
        self, transport: AIOHTTPTransport, request: GraphQLRequest, headers: dict[str, str]
    ) -> GraphQLResult:
        """One attempt: auth flow + send; outages (HTTP or inside a 200) are raised for the pipeline."""
        flow = self._auth.flow(OutgoingRequest(method="POST", path_qs=self._path, headers=dict(headers)))
        with credential_errors(self.name):
            outgoing = await anext(flow)
            while True:
                failed, result = await self._execute_once(transport, request, outgoing)
                if result is not None:
                    await flow.aclose()
                    break
                try:
                    outgoing = await flow.asend(failed)
                except StopAsyncIteration:
                    info = await self.pipeline.observe(failed.status, failed.headers)
                    raise error_for_status(
                        failed.status, upstream=self.name, retry_after_s=info.retry_after_s
                    ) from None
        info = await self.pipeline.observe(200, getattr(result, "headers", {}))
        answer = self._to_result(result)
        self._note_rate_limit(answer)
        outage = outage_in(answer, upstream=self.name)
        if outage is not None:
            if outage.retry_after_s is None:
                outage.retry_after_s = info.retry_after_s
            if isinstance(outage, RateLimited) and outage.retry_after_s:
                await self.pipeline.limiter.hold(outage.retry_after_s)
            raise outage
        return answer

    async def _execute_once(
        self, transport: AIOHTTPTransport, request: GraphQLRequest, outgoing: OutgoingRequest
    ) -> tuple[RawResponse, ExecutionResult | None]:
        extra_args: dict[str, Any] = {"headers": outgoing.headers}
        query = urlsplit(outgoing.path_qs).query
        if query:
            extra_args["params"] = parse_qsl(query, keep_blank_values=True)
        with _map_gql_exceptions(self.name):
            try:
                return _OK, await transport.execute(request, extra_args=extra_args)
            except TransportServerError as exc:
                failed_headers = exc.headers if isinstance(exc, _HttpStatusError) else {}
                return RawResponse(status=exc.code or 502, headers=failed_headers, body=b""), None

    def _note_rate_limit(self, answer: GraphQLResult) -> None:
        """GitHub-style ``extensions.rateLimit.remaining`` (the projects upstream reports it)."""
        rate_limit = (answer.extensions or {}).get("rateLimit")
        remaining = rate_limit.get("remaining") if isinstance(rate_limit, dict) else None
        if isinstance(remaining, int):
            self.pipeline.limiter.note_remaining(remaining)

    def _to_result(self, result: ExecutionResult) -> GraphQLResult:
        data = result.data
        errors = result.errors or []
        if (data is not None and not isinstance(data, dict)) or not isinstance(errors, list):
            raise UpstreamInvalidResponse("GraphQL result has an invalid shape", upstream=self.name)
        return GraphQLResult(
            data=data,
            errors=[error if isinstance(error, dict) else {"message": str(error)} for error in errors],
            extensions=result.extensions if isinstance(result.extensions, dict) else None,
        )
