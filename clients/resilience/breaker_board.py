"""Where the circuit breakers of a fleet meet: Redis.

A breaker's transitions are shared, not its calls: in the closed state nothing here is touched.
When one process opens (or, after its probes, closes) an upstream's breaker it *announces* the
transition -- a script moves the upstream's state hash on one generation, refusing if another
process moved it first -- and publishes it on ``<prefix>breakers``; every process adopts what it
hears (and what the state hash says when it starts or reconnects). While half-open, probes are
admitted by an atomic counter per generation, so exactly ``half_open_probes`` calls go out across
the fleet, and their results are counted in Redis: the process that reports the last one decides.
A probe slot whose process vanished is given back when its counter expires (after ``open_s``).

Operators may force an upstream open or closed for the whole fleet (``force``); that state holds
until released and says who set it.

Keys, all of one upstream in one hash slot (``{breaker:<upstream>}``): ``...:state`` (hash: state,
generation, until, reason, by), ``...:forced`` (hash: state, by, at), ``...:probes:<generation>``
and ``...:results:<generation>``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from clients.redis_client import RedisClient, hash_tagged
from clients.redis_pubsub import PubSubListener
from clients.resilience.breaker import BreakerState, Forced, WindowStats

log = structlog.get_logger("mobius.breaker")

T = TypeVar("T")

CHANNEL = "breakers"

_ANNOUNCE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
local generation = current + 1
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'generation', generation,
  'until', ARGV[3], 'reason', ARGV[4], 'by', ARGV[5])
return {1, generation}
"""

_TAKE_PROBE = """
local taken = redis.call('INCR', KEYS[1])
if taken == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if taken > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""

_RETURN_PROBE = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 1
"""

_REPORT_PROBE = """
local calls = redis.call('HINCRBY', KEYS[1], 'calls', 1)
local failures = redis.call('HINCRBY', KEYS[1], 'failures', ARGV[1])
local slow = redis.call('HINCRBY', KEYS[1], 'slow', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if calls == tonumber(ARGV[3]) then return {calls, failures, slow} end
return {}
"""


class BoardUnavailable(Exception):
    """Redis did not answer: the breaker decides on its own until it does."""


@dataclass(frozen=True, slots=True)
class FleetTransition:
    """The fleet's last announced transition of one upstream's breaker."""

    upstream: str
    state: BreakerState
    generation: int
    until: float
    """Wall-clock seconds an OPEN state lasts until (0 for CLOSED)."""
    reason: str
    by: str
    """The instance that announced it."""


class BoardMember(Protocol):
    """A process's breaker of one upstream, as the board sees it."""

    @property
    def upstream(self) -> str: ...

    def adopt(self, transition: FleetTransition) -> None: ...

    def adopt_forced(self, forced: Forced) -> None: ...


class RedisBreakerBoard:
    """One per process, shared by its upstreams' breakers. ``client`` makes the calls;
    ``subscriber`` (a one-server client without a read timeout) listens for announcements once
    started (an operator's command only forces and leaves it out)."""

    def __init__(
        self,
        client: RedisClient,
        subscriber: Redis | None,
        *,
        prefix: str,
        instance: str,
        op_timeout_s: float = 0.25,
        reconnect_s: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.subscriber = subscriber
        self.prefix = prefix
        self.instance = instance
        self.channel = prefix + CHANNEL
        self.op_timeout_s = op_timeout_s
        self.reconnect_s = reconnect_s
        self.wall = wall
        self._listener = (
            None
            if subscriber is None
            else PubSubListener(
                subscriber,
                channel=self.channel,
                handle=self._dispatch,
                lost_event="breaker_board_lost",
                on_subscribed=self._catch_up,
                reconnect_s=reconnect_s,
                confirm_timeout_s=op_timeout_s * 4,
                retry_on=(BoardUnavailable,),
            )
        )
        self.listening = self._listener.listening if self._listener is not None else asyncio.Event()
        self._members: dict[str, BoardMember] = {}
        self._announce = client.register_script(_ANNOUNCE)
        self._take = client.register_script(_TAKE_PROBE)
        self._return = client.register_script(_RETURN_PROBE)
        self._report = client.register_script(_REPORT_PROBE)

    def _key(self, upstream: str, part: str) -> str:
        return f"{self.prefix}{hash_tagged('breaker:' + upstream)}:{part}"

    def join(self, member: BoardMember) -> None:
        """``member`` hears its upstream's announcements from now on (a rebuilt breaker replaces the old one)."""
        self._members[member.upstream] = member

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.op_timeout_s):
                return await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            raise BoardUnavailable(type(exc).__name__) from None

    async def announce(
        self, upstream: str, *, expected: int, state: BreakerState, until: float, reason: str
    ) -> FleetTransition:
        """Move the fleet's state on from generation ``expected``; if another process moved it first,
        the fleet's current transition is returned instead (compare its ``by``)."""
        key = self._key(upstream, "state")
        moved, generation = await self._call(
            lambda: self._announce(keys=[key], args=[expected, state.value, repr(until), reason, self.instance])
        )
        if not int(moved):
            current = await self.current(upstream)
            if current is not None:
                return current
            raise BoardUnavailable("the fleet state vanished")
        transition = FleetTransition(upstream, state, int(generation), until, reason, self.instance)
        await self._publish({"kind": "transition", **_transition_fields(transition)})
        log.info("circuit_breaker_announced", upstream=upstream, to_state=state.value, generation=int(generation))
        return transition

    async def _hash(self, key: str) -> dict[str, str]:
        fields: dict[Any, Any] = await self._call(lambda: self.client.hgetall(key))
        return {_text(name): _text(value) for name, value in fields.items()}

    async def current(self, upstream: str) -> FleetTransition | None:
        return _transition_from(upstream, await self._hash(self._key(upstream, "state")))

    async def take_probe(self, upstream: str, generation: int, *, limit: int, ttl_s: float) -> bool:
        key = self._key(upstream, f"probes:{generation}")
        taken = await self._call(lambda: self._take(keys=[key], args=[limit, max(1, int(ttl_s * 1000))]))
        return bool(int(taken))

    async def return_probe(self, upstream: str, generation: int) -> None:
        key = self._key(upstream, f"probes:{generation}")
        await self._call(lambda: self._return(keys=[key]))

    async def report_probe(
        self, upstream: str, generation: int, *, failed: bool, slow: bool, limit: int, ttl_s: float
    ) -> WindowStats | None:
        """Count one probe's result; the reporter of the last of ``limit`` gets their totals."""
        key = self._key(upstream, f"results:{generation}")
        args = [int(failed), int(slow), limit, max(1, int(ttl_s * 1000))]
        counts: list[Any] = await self._call(lambda: self._report(keys=[key], args=args))
        if not counts:
            return None
        calls, failures, slow_calls = (int(count) for count in counts)
        return WindowStats(calls=calls, failures=failures, slow=slow_calls)

    async def force(self, upstream: str, state: BreakerState | None, *, by: str) -> Forced:
        """Force the upstream OPEN or CLOSED for the whole fleet, or release it (``None``)."""
        key = self._key(upstream, "forced")
        if state is None:
            await self._call(lambda: self.client.delete(key))
        else:
            mapping: dict[str | bytes, str | bytes] = {"state": state.value, "by": by, "at": repr(self.wall())}
            await self._call(lambda: self.client.hset(key, mapping=mapping))  # type: ignore[arg-type]  # str values are valid
        forced = Forced(upstream, state, by)
        await self._publish({"kind": "forced", "upstream": upstream, "state": state.value if state else None, "by": by})
        return forced

    async def forced(self, upstream: str) -> Forced | None:
        fields = await self._hash(self._key(upstream, "forced"))
        state = fields.get("state", "")
        if state not in (BreakerState.OPEN.value, BreakerState.CLOSED.value):
            return None
        return Forced(upstream, BreakerState(state), fields.get("by", "?"))

    async def _publish(self, message: dict[str, Any]) -> None:
        await self._call(lambda: self.client.publish(self.channel, orjson.dumps(message)))

    async def start(self) -> None:
        if self._listener is not None:
            self._listener.start()

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        if self.subscriber is not None:
            await self.subscriber.aclose()
        await self.client.aclose()

    async def _catch_up(self) -> None:
        """Adopt what the fleet decided while this process was not listening."""
        for upstream, member in list(self._members.items()):
            transition = await self.current(upstream)
            if transition is not None:
                member.adopt(transition)
            forced = await self.forced(upstream)
            member.adopt_forced(forced or Forced(upstream, None, ""))

    def _dispatch(self, message: dict[str, Any]) -> None:
        try:
            payload = orjson.loads(message["data"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        if not isinstance(payload, dict):
            return
        member = self._members.get(str(payload.get("upstream")))
        if member is None:
            return
        if payload.get("kind") == "forced":
            state = payload.get("state")
            member.adopt_forced(
                Forced(member.upstream, BreakerState(state) if state else None, str(payload.get("by", "")))
            )
            return
        transition = _transition_from(member.upstream, {key: str(value) for key, value in payload.items()})
        if transition is not None:
            member.adopt(transition)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _transition_fields(transition: FleetTransition) -> dict[str, Any]:
    return {
        "upstream": transition.upstream,
        "state": transition.state.value,
        "generation": transition.generation,
        "until": transition.until,
        "reason": transition.reason,
        "by": transition.by,
    }


def _transition_from(upstream: str, fields: dict[str, str]) -> FleetTransition | None:
    try:
        return FleetTransition(
            upstream=upstream,
            state=BreakerState(fields["state"]),
            generation=int(fields["generation"]),
            until=float(fields.get("until", "0")),
            reason=fields.get("reason", ""),
            by=fields.get("by", ""),
        )
    except (KeyError, ValueError):
        return None
