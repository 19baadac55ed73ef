"""The durable event stream: Redis Streams with a consumer group, or an in-process stand-in."""

from mobius.events.stream.base import Admission, Backlog, DeadLetter, EventStream, StreamEntry
from mobius.events.stream.memory import MemoryEventStream
from mobius.events.stream.redis import RedisEventStream

__all__ = [
    "Admission",
    "Backlog",
    "DeadLetter",
    "EventStream",
    "MemoryEventStream",
    "RedisEventStream",
    "StreamEntry",
]
