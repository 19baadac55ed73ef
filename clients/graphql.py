"""A GraphQL upstream on gql's aiohttp transport, behind the same auth flow and error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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
from graphql import DocumentNode, ExecutionResult, print_ast

from clients.auth import Auth
from clients.errors import UpstreamInvalidResponse, UpstreamUnavailable, error_for_status
from clients.http import json_text, map_exceptions, open_session
from clients.messages import OutgoingRequest, RawResponse
from clients.policy import UpstreamPolicy
from clients.rest import retry_after_s


class _HttpStatusError(TransportServerError):
    """A 4xx/5xx answer, with the headers that say when to come back."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        super().__init__(f"HTTP {status}", status)
        self.headers = headers


class _StatusAwareTransport(AIOHTTPTransport):
    """gql accepts a 4xx/5xx whose body looks like GraphQL; we need its status and headers first."""

    async def _prepare_result(self, response: aiohttp.ClientResponse) -> ExecutionResult:
        if response.status >= 400:
            raise _HttpStatusError(response.status, dict(response.headers))
        return await super()._prepare_result(response)


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
    def __init__(self, policy: UpstreamPolicy, auth: Auth, *, path: str = "/graphql") -> None:
        self.policy = policy
        self.name = policy.name
        self._auth = auth
        self._path = path
        self._transport: _StatusAwareTransport | None = None

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

    async def execute(self, document: DocumentNode, variables: dict[str, Any] | None = None) -> GraphQLResult:
        transport = self._transport
        if transport is None:
            raise UpstreamUnavailable("client is not started", upstream=self.name)
        request = _PrintedOnceRequest(document, variable_values=variables)
        flow = self._auth.flow(OutgoingRequest(method="POST", path_qs=self._path))
        outgoing = await anext(flow)
        while True:
            failed, result = await self._execute_once(transport, request, outgoing.headers)
            if result is not None:
                await flow.aclose()
                return self._to_result(result)
            try:
                outgoing = await flow.asend(failed)
            except StopAsyncIteration:
                raise error_for_status(
                    failed.status, upstream=self.name, retry_after_s=retry_after_s(failed.headers)
                ) from None

    async def _execute_once(
        self, transport: AIOHTTPTransport, request: GraphQLRequest, headers: dict[str, str]
    ) -> tuple[RawResponse, ExecutionResult | None]:
        with _map_gql_exceptions(self.name):
            try:
                return _OK, await transport.execute(request, extra_args={"headers": headers})
            except TransportServerError as exc:
                failed_headers = exc.headers if isinstance(exc, _HttpStatusError) else {}
                return RawResponse(status=exc.code or 502, headers=failed_headers, body=b""), None

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
