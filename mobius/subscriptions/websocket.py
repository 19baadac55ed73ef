"""GraphQL over WebSocket at ``/graphql``: graphql-transport-ws and the legacy graphql-ws
(subscriptions-transport-ws), on Strawberry's protocol handlers with what a gateway adds:

- every message is a TEXT frame (the protocols' clients refuse binary ones);
- the caller may be named in ``connection_init``'s payload (``connectionParams``), by an
  ``Authorization`` (or ``authorization``) key read exactly as the HTTP header is
  (``mobius.callers``); a credential that names nobody closes the socket with 4403;
- a heartbeat: graphql-transport-ws ``ping`` (or legacy ``ka``) every ``heartbeat_s``;
- a subscriber that falls more than ``subscriptions.buffer`` events behind is dropped and its
  connection closed with ``CLOSE_TOO_SLOW`` (4413), the other subscribers unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyConnectionInitMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.unset import UnsetType

from mobius.callers import CallerIdentity, UnknownCaller
from mobius.settings import SubscriptionsSettings
from mobius.subscriptions.shared import SharedResult
from schema.context import GatewayContext
from schema.root import MobiusSchema

CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4413
TOO_SLOW_REASON = "subscriber too slow: its event buffer overflowed"


_AUTHORIZATION_KEYS = ("Authorization", "authorization")


def _authorization(params: object) -> object:
    if not isinstance(params, Mapping):
        return None
    for key in _AUTHORIZATION_KEYS:
        value = params.get(key)
        if value is not None:
            return value
    return None


class TransportWsHandler(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """graphql-transport-ws with a server ``ping`` every ``heartbeat_s`` once acknowledged."""

    view: WebSocketView
    _heartbeat: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            while True:
                await asyncio.sleep(self.view.heartbeat_s)
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        await super().shutdown()

    async def _send_result_stream(
        self, operation: Operation[GatewayContext, None], result_source: StreamResult
    ) -> None:
        """As Strawberry's, but a shared result's payload, encoded once, is spliced into the frame."""
        first = True
        async for result in result_source:
            if isinstance(result, SharedResult):
                if operation.completed:
                    return
                frame = f'{{"id":{_json_text(operation.id)},"type":"next","payload":{result.text}}}'
                await _send_text(self.websocket, frame)
            elif first and isinstance(result, PreExecutionError):
                await self._handle_pre_execution_error(operation, result)
                return
            elif not isinstance(result, ExecutionResult):
                await self._reject_incremental_delivery(operation)
                return
            else:
                await operation.send_next(result)
            first = False


class LegacyWsHandler(BaseGraphQLWSHandler[GatewayContext, None]):
    """graphql-ws (subscriptions-transport-ws): a refused credential closes with 4403, as in
    graphql-transport-ws, after the protocol's ``connection_error``."""

    view: WebSocketView

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        try:
            await self.view.identify(self.context, message.get("payload"))
        except ConnectionRejectionError as rejected:
            await self.send_message({"type": "connection_error", "payload": rejected.payload})
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason="Forbidden")
            return
        payload = message.get("payload")
        if isinstance(payload, dict):  # identified above: not again in on_ws_connect
            message = {**message, "payload": {k: v for k, v in payload.items() if k not in _AUTHORIZATION_KEYS}}
        await super().handle_connection_init(message)

    async def send_data_message(self, execution_result: ExecutionResult, operation_id: str) -> None:
        if isinstance(execution_result, SharedResult):
            frame = f'{{"type":"data","id":{_json_text(operation_id)},"payload":{execution_result.text}}}'
            await _send_text(self.websocket, frame)
        else:
            await super().send_data_message(execution_result, operation_id)


def _json_text(value: str) -> str:
    return orjson.dumps(value).decode()


async def _send_text(websocket: AsyncWebSocketAdapter, text: str) -> None:
    """A frame already encoded, as the adapter's ``send_json`` sends one (TEXT)."""
    assert isinstance(websocket, ASGIWebSocketAdapter)
    try:
        await websocket.ws.send_text(text)
    except WebSocketDisconnect as gone:
        raise WebSocketDisconnected from gone


class WebSocketView(GraphQL[GatewayContext, None]):
    """Strawberry's WebSocket protocol handlers, and nothing else of its view: the handshake was
    admitted (origin and caller) before it gets here."""

    graphql_transport_ws_handler_class = TransportWsHandler
    graphql_ws_handler_class = LegacyWsHandler

    def __init__(self, schema: MobiusSchema, *, callers: CallerIdentity, settings: SubscriptionsSettings) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            allowed_origins=("*",),
            keep_alive=True,
            keep_alive_interval=settings.heartbeat_s,
            connection_init_wait_timeout=timedelta(seconds=settings.connection_init_timeout_s),
            max_subscriptions_per_connection=settings.max_per_connection,
        )
        self.callers = callers
        self.heartbeat_s = settings.heartbeat_s
        self._closing: set[asyncio.Task[None]] = set()

    def encode_json(self, data: object) -> str:
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def identify(self, context: GatewayContext, params: object) -> None:
        """The caller ``connectionParams`` name, if they name one (else the handshake's stays)."""
        authorization = _authorization(params)
        if authorization is None:
            return
        if not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "Authorization must be a string", "code": "UNAUTHENTICATED"})
        try:
            context.caller = await self.callers.identify(authorization)
        except UnknownCaller as unknown:
            raise ConnectionRejectionError({"message": unknown.reason, "code": unknown.code}) from None

    async def on_ws_connect(self, context: GatewayContext) -> UnsetType | dict[str, object] | None:
        await self.identify(context, context.connection_params)
        return await super().on_ws_connect(context)

    async def serve(self, websocket: WebSocket, context: GatewayContext) -> None:
        """Run the protocol on an admitted handshake; a subscriber that overflows closes it."""
        context.on_overflow = lambda: self._close_too_slow(websocket)
        await self.run(websocket, context=context)

    def _close_too_slow(self, websocket: WebSocket) -> None:
        task = asyncio.create_task(self._close(websocket))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(websocket: WebSocket) -> None:
        if websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await websocket.close(code=CLOSE_TOO_SLOW, reason=TOO_SLOW_REASON)
