"""An upstream is a declaration: one module under ``clients/`` says everything the gateway derives.

    Upstream[C]                 a slot of the graph (``upstreams.<name>`` in settings), whose
    │                           client type ``C`` (a protocol for a slot with several vendors)
    │                           answers the schema's reads with the gateway's normalised models
    └── reads: Read[C, K, V]    an entity by id or a list page by its arguments: how a batch of
                                keys is fetched (by ids, merged into one request, or a bounded
                                fan-out), its pagination, cache type name and default TTL, key,
                                tags and links, and the sibling reads its values prime
    Vendor[C]                   an API that serves a slot (``upstreams.<name>.vendor``; default:
                                the one named like the slot): protocol, accepted auth kinds,
                                default settings, the client it builds on the shared transport
                                (mapping its payloads into the normalised models), and its webhooks
                                (``Webhook``: signature scheme, body parser, what an event touches)

``clients.registry`` finds every declaration in the modules of ``clients/``.

From these come, with no edit elsewhere: the settings section and its validation
(``mobius.settings``), the client on the shared transport, auth and pipeline
(``mobius.upstreams``), the per-request loaders (``resolvers.loaders``), the cache types and TTLs,
the ``upstreams`` health row, and the wiring of ``mobius demo`` and the test harness.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from typing import Protocol as TypingProtocol

from clients.batching import by_ids, fan_out, merged
from clients.codec import Codec
from clients.fetched import Answer, Fetched
from clients.http import HttpUpstream
from clients.policy import UpstreamPolicy

__all__ = [
    "Answer",
    "AuthKind",
    "Batch",
    "EventFields",
    "Fetched",
    "Follow",
    "Pagination",
    "Prime",
    "Protocol",
    "Read",
    "Touched",
    "Upstream",
    "Vendor",
    "Webhook",
    "WebhookEvent",
    "WebhookScheme",
    "by_ids",
    "fan_out",
    "merged",
]

C = TypeVar("C")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
K2 = TypeVar("K2", bound=Hashable)
V2 = TypeVar("V2")

Protocol = Literal["rest", "graphql"]
AuthKind = Literal["none", "bearer", "api_key", "api_key_hmac", "oauth2_client_credentials", "basic"]
Batch = Literal["by_ids", "merged", "fan_out"]
Pagination = Literal["cursor", "offset", "page_token"]
WebhookScheme = Literal["standard_webhooks", "github_hmac_sha256"]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One change a webhook body reports, as the vendor's ``parse`` reads it (the gateway adds the
    delivery id and the source). ``version`` orders the changes of one entity."""

    type: str
    entity_type: str
    entity_id: str
    version: int
    occurred_at: float
    data: Mapping[str, object] = field(default_factory=dict)


class EventFields(TypingProtocol):
    """What ``touches`` reads of an event (the gateway's ``Event`` has these)."""

    @property
    def type(self) -> str: ...

    @property
    def entity_type(self) -> str: ...

    @property
    def entity_id(self) -> str: ...

    @property
    def data(self) -> Mapping[str, object]: ...


@dataclass(frozen=True, slots=True)
class Touched:
    """What an event invalidates in the cache: entities (``Ticket:t-1``: the entry and the lists
    embedding it) and tags (``customer:cus-1``)."""

    entities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, eq=False)
class Webhook:
    """How a vendor's webhooks are signed (``scheme``), read (``parse``: the verified raw body to its
    changes; ``ValueError`` for a malformed body) and what each change invalidates (``touches``)."""

    scheme: WebhookScheme
    parse: Callable[[bytes], Sequence[WebhookEvent]]
    touches: Callable[[EventFields], Touched]


@dataclass(frozen=True, kw_only=True, eq=False)
class Prime(Generic[V, K2, V2]):
    """Values of another read that a value carries (a members page's users): primed into that read's
    loader whenever this value is loaded, and written to its cache when this value was fetched."""

    read: Read[Any, K2, V2]
    items: Callable[[V], Iterable[tuple[K2, V2]]]


@dataclass(frozen=True, kw_only=True, eq=False)
class Follow(Generic[K, V, K2]):
    """Keys of another read a value is handed out with (each project's issue pages, as the key asked
    for them): loaded, in one batch, before this value's future resolves, so the fields that read
    them answer at once. Those that came in the same request are already primed."""

    read: Read[Any, K2, Any]
    keys: Callable[[K, V], Iterable[K2]]


def _no_tags(_key: object, _value: object) -> tuple[str, ...]:
    return ()


def _no_links(_key: object, _value: object) -> tuple[tuple[str, str], ...]:
    return ()


def _the_key(key: object) -> tuple[object, ...]:
    return (key,)


@dataclass(frozen=True, kw_only=True, eq=False)
class Read(Generic[C, K, V]):
    """One batched read of an upstream slot.

    ``name`` names its loader, its cache type and its TTL setting (``cache.ttl_s.<name>``).
    ``codec`` reads and writes its values (the cache's entries). ``fetch`` answers a batch of keys
    under the DataLoader contract (one answer per key, in key order); build it with ``by_ids``,
    ``merged`` or ``fan_out``. ``key_parts`` are what the cache key is made of (a key may carry
    more, e.g. what a GraphQL upstream must bring along, that does not change the cached value).
    ``entity`` makes entries addressable as ``<entity>:<id>``.
    """

    name: str
    codec: Codec[V]
    fetch: Callable[[C, Sequence[K], UpstreamPolicy], Awaitable[Fetched[K]]]
    batch: Batch
    ttl_s: float
    key_parts: Callable[[K], tuple[object, ...]] = _the_key
    entity: str | None = None
    pagination: Pagination | None = None
    tags: Callable[[K, V], tuple[str, ...]] = _no_tags
    links: Callable[[K, V], tuple[tuple[str, str], ...]] = _no_links
    primes: tuple[Prime[V, Any, Any], ...] = ()
    follows: tuple[Follow[K, V, Any], ...] = ()

    def __repr__(self) -> str:
        return f"Read({self.name!r})"


@dataclass(frozen=True, kw_only=True, eq=False)
class Upstream(Generic[C]):
    """A slot of the graph: its reads, typed on the client ``C`` every vendor of it builds."""

    name: str
    reads: tuple[Read[C, Any, Any], ...]

    def __repr__(self) -> str:
        return f"Upstream({self.name!r})"


@dataclass(frozen=True, kw_only=True, eq=False)
class Vendor(Generic[C]):
    """An API that can serve an upstream slot, and what the gateway needs to talk to it.

    ``auth`` lists the accepted ``auth.type`` values (the first is the one the sandbox uses);
    ``defaults`` are settings this vendor needs unless configured otherwise (merged under
    ``upstreams.<slot>``); ``client`` builds its client on the upstream's shared HTTP transport.
    """

    name: str
    serves: Upstream[C]
    protocol: Protocol
    auth: tuple[AuthKind, ...]
    client: Callable[[HttpUpstream], C]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    webhook: Webhook | None = None

    def __repr__(self) -> str:
        return f"Vendor({self.name!r} serves {self.serves.name!r})"
