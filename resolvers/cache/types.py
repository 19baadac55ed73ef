"""What is cached, and how its keys, tags and versions are built.

Key layout (logical; the store adds its prefix)::

    c:<upstream>[@<vendor>]:<type>:<model version>:<credential scope>:{<entity or type>:<id>}

The braces are a Redis Cluster hash tag: every version and scope of one entity lands on one slot.
``@<vendor>`` names the vendor serving the upstream when it is not the one named like it, so
switching vendors never reads the other's entries.
The model version is the cached type's codec version (a digest of its shape), so a model change
never reads old shapes. The credential scope names *which* credential the upstream answered (e.g. an OAuth2 client
id), never the credential itself.

Tags group entries for invalidation. Lower-case tags say what an entry belongs to (``org:org-1``,
``customer:cus_1``, ``project:proj-1``); capitalised tags say which entities a list embeds
(``User:user-7`` on a members page), so invalidating ``User:user-7`` also drops the pages that
would otherwise prime the old user again. A link makes one tag include another
(``org:org-1`` -> ``customer:cus_1``), so an organization's billing goes with it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import quote

from mypy_extensions import mypyc_attr

from clients.codec import Codec
from clients.memo import keep

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Tags = tuple[str, ...]
Links = tuple[tuple[str, str], ...]


_UNESCAPED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~@-"
"""What ``quote(..., safe="-_.~@")`` leaves as it is: a part made of these alone (most ids) skips it."""

_KNOWN_KEYS = 256
"""Cache keys a type remembers per credential scope (``CacheType.keys``); past that it starts afresh."""
_KNOWN_SCOPES = 8
"""Credential scopes it remembers keys for, likewise."""


def key_part(value: object) -> str:
    """One component of a key: separators and hash-tag braces are escaped, ``None`` is empty.

    A part of ASCII letters, digits and ``-`` (most ids) is taken as it is at once; any other is
    checked against all of ``_UNESCAPED`` (``str.strip`` of a set that long is the slower test)."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if text.isascii() and text.replace("-", "0").isalnum():
        return text
    return quote(text, safe="-_.~@") if text.strip(_UNESCAPED) else text


def _no_tags(_key: object, _value: object) -> Tags:
    return ()


def _no_links(_key: object, _value: object) -> Links:
    return ()


@mypyc_attr(native_class=False)  # compiled, a generic dataclass must stay a Python class (mypyc/mypyc#827)
@dataclass(frozen=True)
class CacheType(Generic[K, V]):
    """One cached loader: its settings name (``users``), upstream, value shape and key parts.

    ``entity`` (e.g. ``User``) makes entries addressable as ``User:<id>`` for invalidation; only
    types keyed by the entity's own id have one. ``vendor`` is set when another vendor than the
    one named like the upstream serves it.
    """

    name: str
    upstream: str
    codec: Codec[V]
    key_id: Callable[[K], str]
    entity: str | None = None
    tags: Callable[[K, V], Tags] = _no_tags
    links: Callable[[K, V], Links] = _no_links
    vendor: str | None = None
    version: str = field(init=False)
    _prefix: str = field(init=False, repr=False, compare=False)
    """``c:<upstream>[@<vendor>]:<type>:<model version>:``, built once."""
    _known: dict[str, dict[K, str]] = field(init=False, repr=False, compare=False)
    """Cache keys built by ``keys``, by scope and key."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "version", self.codec.version)
        source = self.upstream if self.vendor is None else f"{self.upstream}@{self.vendor}"
        object.__setattr__(self, "_prefix", f"c:{source}:{self.name}:{self.version}:")
        object.__setattr__(self, "_known", {})

    def key(self, key: K, scope: str) -> str:
        return self.key_for_id(self.key_id(key), scope)

    def keys(self, keys: Iterable[K], scope: str) -> list[str]:
        """``key`` of each of ``keys``: as built for an earlier batch (the same keys come back request
        after request; up to ``_KNOWN_KEYS`` of them per scope), or built now with the part they
        share built once."""
        known = self.known_keys(scope)
        head: str | None = None
        built: list[str] = []
        for key in keys:
            cache_key = known.get(key)
            if cache_key is None:
                if head is None:
                    head = f"{self._prefix}{key_part(scope)}:{{{self.entity or self.name}:"
                cache_key = keep(known, key, f"{head}{self.key_id(key)}}}", _KNOWN_KEYS)
            built.append(cache_key)
        return built

    def known_keys(self, scope: str) -> dict[K, str]:
        """The cache keys ``keys`` built for ``scope``, by key (filled by its later calls; a reader
        may look a key up here first and call ``keys`` only for one not in it)."""
        known = self._known.get(scope)
        if known is None:
            known = keep(self._known, scope, {}, _KNOWN_SCOPES)
        return known

    def answer_tags(self, key: K, value: V | None) -> Tags:
        """What an answer built from this entry is tagged with: the entity itself (``User:u-42``,
        as invalidation names it) and the entry's own tags."""
        own = (f"{self.entity}:{key}",) if self.entity is not None else ()
        return own if value is None else (*own, *self.tags(key, value))

    def key_for_id(self, key_id: str, scope: str) -> str:
        return f"{self._prefix}{key_part(scope)}:{{{self.entity or self.name}:{key_id}}}"


def parse_entity(ref: str) -> tuple[str, str]:
    """``User:u-42`` -> (``User``, ``u-42``)."""
    entity, sep, entity_id = ref.partition(":")
    if not sep or not entity or not entity_id:
        raise ValueError(f"an entity is written Type:id, e.g. User:u-42, not {ref!r}")
    return entity, entity_id
