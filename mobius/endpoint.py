"""``/graphql`` in front of the rest of the app: every HTTP request and WebSocket handshake to it
passes ``mobius.admission``; what is admitted over HTTP is answered by ``mobius.executor``, a
WebSocket by graphql-transport-ws / graphql-ws (``mobius.subscriptions.websocket``) with the
admitted caller, a request for ``text/event-stream`` as Server-Sent Events (``mobius.subscriptions.sse``).
The app serves it in front of FastAPI (``mobius.asgi``): every other path is FastAPI's (health,
admin, GraphiQL's files)."""

from __future__ import annotations

import orjson
import structlog
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from mobius.admission import Admission, Admitted, ClientGone, GraphiQLPage, Preflight, Refused
from mobius.context import RequestContexts
from mobius.executor import Executor, errors_payload, refuse
from mobius.graphiql import GRAPHIQL_CSP, render_graphiql_page
from mobius.media import JSON, RESPONSE_MEDIA
from mobius.request_errors import RequestError
from mobius.settings import SubscriptionsSettings
from mobius.subscriptions.shared import SharedStreams
from mobius.subscriptions.sse import EventStreams
from mobius.subscriptions.websocket import WebSocketView
from schema.root import MobiusSchema

log = structlog.get_logger("mobius.endpoint")

INTERNAL_ERROR = b'{"errors":[{"message":"Internal error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}'


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        admission: Admission,
        executor: Executor,
        schema: MobiusSchema,
        contexts: RequestContexts,
        static_prefix: str,
        subscriptions: SubscriptionsSettings,
        path: str = "/graphql",
    ) -> None:
        """``path`` is where the app serves it (GraphiQL's page sends its requests there)."""
        self.admission = admission
        self.executor = executor
        self.contexts = contexts
        self.page = render_graphiql_page(static_prefix=static_prefix, graphql_path=path).encode()
        self.websockets = WebSocketView(schema, callers=contexts.callers, settings=subscriptions)
        self.streams = EventStreams(schema, contexts, heartbeat_s=subscriptions.heartbeat_s)
        schema.shared = SharedStreams(contexts.new, buffer=subscriptions.buffer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self._websocket(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            outcome = await self.admission.admit(scope, receive)
            if isinstance(outcome, Admitted) and outcome.stream:
                await self.streams.answer(outcome, receive, send)
            elif isinstance(outcome, Admitted):
                await self.executor.answer(outcome, send)
            elif isinstance(outcome, Refused):
                await refuse(send, outcome)
            elif isinstance(outcome, GraphiQLPage):
                headers = [(b"content-security-policy", GRAPHIQL_CSP.encode()), *outcome.headers]
                await _send(send, 200, self.page, b"text/html; charset=utf-8", headers)
            elif isinstance(outcome, Preflight):
                await _send(send, 204, b"", None, outcome.headers)
        except ClientGone:
            return
        except Exception:
            log.exception("graphql_request_failed", method=scope["method"])
            await _send_failure(send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            caller = await self.admission.admit_websocket(scope)
        except RequestError as refused:
            await _deny_handshake(scope, receive, send, refused)
            return
        await self.websockets.serve(WebSocket(scope, receive, send), self.contexts.new(caller))


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes | None, headers: list[tuple[bytes, bytes]]
) -> None:
    start = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        start.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": [*start, *headers]})
    await send({"type": "http.response.body", "body": body})


async def _send_failure(send: Send) -> None:
    """A 500 with a GraphQL-shaped body, unless the response had already started."""
    try:
        await _send(send, 500, INTERNAL_ERROR, RESPONSE_MEDIA[JSON].content_type, [])
    except RuntimeError:
        return


async def _deny_handshake(scope: Scope, receive: Receive, send: Send, refused: RequestError) -> None:
    """Answer the handshake with the refusal's status and GraphQL-shaped body where the server
    can send an HTTP response to a WebSocket request, else close it before accepting (403)."""
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = orjson.dumps(errors_payload(refused))
        headers = [
            (b"content-type", RESPONSE_MEDIA[JSON].content_type),
            (b"content-length", str(len(body)).encode()),
            *refused.headers,
        ]
        await send({"type": "websocket.http.response.start", "status": refused.status or 400, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008})
