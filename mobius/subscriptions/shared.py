"""One execution per event for every subscriber that asked the same thing (``schema.sharing``):
a group runs the subscription once, with a context of its own, encodes each result's payload
once, and hands the same ``SharedResult`` to each member's bounded buffer; the transports splice
the member's operation id around the encoded payload instead of encoding it again.

A member that falls ``buffer`` results behind is dropped alone (its ``on_overflow`` is called,
as for a bus subscriber); a group whose own bus subscriber overflows drops every member. A group
ends when its last member leaves."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
import structlog
from prometheus_client import Counter
from strawberry.types.execution import ExecutionResult

from clients.redis_client import raise_consumed_cancel
from mobius.subscriptions.bus import DELIVERIES, DROPS
from schema.context import Caller, GatewayContext
from schema.sharing import SharingKey, Start

log = structlog.get_logger("mobius.subscriptions")

EXECUTIONS = Counter(
    "mobius_subscription_executions",
    "Executions of a subscription's document for one event (once per group of subscribers that share it).",
)


def payload_of(result: ExecutionResult) -> dict[str, object]:
    """A result as the protocols' ``next``/``data`` payload."""
    payload: dict[str, object] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


@dataclass
class SharedResult(ExecutionResult):
    """One result for every member of a group, its payload encoded once."""

    payload: bytes = field(default=b"")

    @cached_property
    def text(self) -> str:
        return self.payload.decode()


_END = object()
_DROPPED = object()


class _Member:
    def __init__(self, group: _Group, buffer: int, on_overflow: Callable[[], None] | None) -> None:
        self.group = group
        self.buffer = buffer
        self.on_overflow = on_overflow
        self.queue: asyncio.Queue[object] = asyncio.Queue()  # bounded by ``offer``; room kept for the end

    def offer(self, result: object) -> None:
        if self.queue.qsize() >= self.buffer:
            self.drop()
            return
        self.queue.put_nowait(result)
        DELIVERIES.inc()

    def drop(self) -> None:
        DROPS.inc()
        self.group.members.discard(self)
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_DROPPED)
        log.info("subscriber_dropped", shared=True, buffer=self.buffer)
        if self.on_overflow is not None:
            self.on_overflow()

    async def results(self) -> AsyncGenerator[Any, None]:
        try:
            while (item := await self.queue.get()) is not _END and item is not _DROPPED:
                yield item
            if item is _DROPPED and self.on_overflow is not None:
                await asyncio.Event().wait()  # the transport closes the connection and cancels this
        finally:
            self.group.leave(self)


class _Group:
    def __init__(self, owner: SharedStreams, key: SharingKey) -> None:
        self.owner = owner
        self.key = key
        self.members: set[_Member] = set()
        self.ended = False
        self.task: asyncio.Task[None] | None = None

    async def run(self, caller: Caller, start: Start) -> None:
        context = self.owner.new_context(caller)
        context.on_overflow = self.overflow
        try:
            stream = await start(context)
            try:
                async for result in stream:
                    raise_consumed_cancel()  # its last member left while a Redis command ran
                    self.share(result)
            finally:
                await stream.aclose()
        except Exception:
            log.exception("shared_subscription_failed")
        finally:
            self.end()

    def share(self, result: object) -> None:
        if type(result) is ExecutionResult:
            EXECUTIONS.inc()
            payload = orjson.dumps(payload_of(result))
            result = SharedResult(result.data, result.errors, result.extensions, payload=payload)
        for member in tuple(self.members):
            member.offer(result)

    def overflow(self) -> None:
        """The group's bus subscriber overflowed: every member is as far behind."""
        for member in tuple(self.members):
            member.drop()
        self.end()
        if self.task is not None:
            self.task.cancel()

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.owner.forget(self)
        for member in tuple(self.members):
            member.queue.put_nowait(_END)

    def leave(self, member: _Member) -> None:
        self.members.discard(member)
        if not self.members and self.task is not None:
            self.end()
            self.task.cancel()


class SharedStreams:
    """This process's groups (``schema.sharing.SharedExecutions``)."""

    def __init__(self, new_context: Callable[[Caller], GatewayContext], *, buffer: int) -> None:
        """``new_context``: a request context for a caller (``RequestContexts.new``)."""
        self.new_context = new_context
        self.buffer = buffer
        self._groups: dict[SharingKey, _Group] = {}

    def join(self, key: SharingKey, context: GatewayContext, start: Start) -> AsyncGenerator[Any, None]:
        group = self._groups.get(key)
        if group is None:
            group = _Group(self, key)
            self._groups[key] = group
            # in a context of its own: no member's request record, log fields or deadline
            group.task = asyncio.create_task(group.run(context.caller, start), context=contextvars.Context())
        member = _Member(group, self.buffer, context.on_overflow)
        group.members.add(member)
        return member.results()

    def forget(self, group: _Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]

    def members(self) -> int:
        """Subscribers in every group (what a test waits for before publishing)."""
        return sum(len(group.members) for group in self._groups.values())
