"""Persisted documents: a request may name its document by its SHA-256 instead of (or beside)
sending its text, as Apollo's ``extensions.persistedQuery {version: 1, sha256Hash}`` or as
GraphQL over HTTP's ``documentId: "sha256:<hex>"``.

Two modes, chosen by settings (docs/http.md):

- ``OpenDocuments``: any document runs. With automatic persisted queries on (``graphql.apq``), a
  document sent with its hash is verified and registered (in this process and in the cache
  store, for ``ttl_s``; at most ``max_query_bytes``) once it has parsed and validated, and later
  requests may send the hash alone;
  an unknown hash is ``PERSISTED_QUERY_NOT_FOUND``, which tells Apollo clients to send the text.
- ``TrustedDocuments``: only the documents of a manifest run (``graphql.trusted_documents``).
  The manifest is hash-addressed (every body must hash to its id) and re-read when the file
  changes; while it cannot be read, the last good one is kept (none at start: nothing runs), and
  readiness reports why.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from mobius.request_errors import BAD_REQUEST, RequestError, graphql_request_error
from mobius.settings import GraphQLSettings
from resolvers.cache import CacheStore, CacheUnavailable, StoreWrite

log = structlog.get_logger("mobius.persisted")

SHA256 = "sha256:"
_HEX = frozenset("0123456789abcdef")
APQ_KEY = "c:apq:"
"""Under ``c:``, so invalidating the whole cache clears registrations too (clients re-register)."""

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
ID_REQUIRED = "PERSISTED_QUERY_ID_REQUIRED"
NOT_IN_SAFELIST = "QUERY_NOT_IN_SAFELIST"


def document_id(value: object) -> str:
    """``sha256:<64 lower-case hex>`` from ``sha256:<hex>`` or a bare hex digest; a request error
    for anything else."""
    if isinstance(value, str):
        digest = value.removeprefix(SHA256).lower()
        if len(digest) == 64 and _HEX.issuperset(digest):
            return SHA256 + digest
    raise RequestError.of("a document id must be `sha256:` and 64 hex digits", BAD_REQUEST, status=400)


def persisted_query_id(extensions: Mapping[str, Any]) -> str | None:
    """The id in ``extensions.persistedQuery`` (Apollo's protocol, version 1), if any."""
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestError.of("extensions.persistedQuery must be {version: 1, sha256Hash}", BAD_REQUEST, status=400)
    return document_id(persisted.get("sha256Hash"))


def id_of(text: str) -> str:
    return SHA256 + hashlib.sha256(text.encode("utf-8")).hexdigest()


class PersistedDocuments(Protocol):
    required: bool
    """Whether every request goes through ``text`` (else only those that name an id)."""

    async def text(self, query: str | None, document_id: str | None) -> str:
        """The document to run; a ``RequestError`` when there is none the mode allows."""
        ...

    async def keep(self, document_id: str, text: str) -> None:
        """Called once a document sent with its id has parsed and validated."""
        ...


class AutomaticPersistedQueries:
    def __init__(self, *, store: CacheStore | None, ttl_s: float, max_query_bytes: int, local_entries: int) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.max_query_bytes = max_query_bytes
        self.local_entries = local_entries
        self._local: OrderedDict[str, str] = OrderedDict()

    async def lookup(self, document_id: str) -> str | None:
        text = self._local.get(document_id)
        if text is not None:
            self._local.move_to_end(document_id)
            return text
        if self.store is None:
            return None
        try:
            found = (await self.store.get_many([APQ_KEY + document_id]))[0]
        except CacheUnavailable:
            return None
        if found is None:
            return None
        text = found.decode("utf-8", "replace")
        if id_of(text) != document_id:
            return None  # not what was registered under that id: never run it
        self._remember(document_id, text)
        return text

    async def register(self, document_id: str, text: str) -> None:
        if len(text) > self.max_query_bytes or document_id in self._local:
            return
        self._remember(document_id, text)
        if self.store is not None:
            try:
                await self.store.set_many([StoreWrite(APQ_KEY + document_id, text.encode("utf-8"), self.ttl_s)])
            except CacheUnavailable:
                log.warning("apq_store_unavailable")

    def _remember(self, document_id: str, text: str) -> None:
        self._local[document_id] = text
        if len(self._local) > self.local_entries:
            self._local.popitem(last=False)


class OpenDocuments:
    """Any document runs; ids resolve through automatic persisted queries when they are on."""

    required = False

    def __init__(self, apq: AutomaticPersistedQueries | None) -> None:
        self.apq = apq

    async def text(self, query: str | None, document_id: str | None) -> str:
        if document_id is None:
            if query is None:
                raise _missing_query()
            return query
        if self.apq is None:
            raise graphql_request_error("persisted queries are not supported", NOT_SUPPORTED)
        if query is None:
            found = await self.apq.lookup(document_id)
            if found is None:
                raise graphql_request_error("PersistedQueryNotFound", NOT_FOUND)
            return found
        if id_of(query) != document_id:
            raise graphql_request_error("the document does not hash to the id sent with it", HASH_MISMATCH)
        return query

    async def keep(self, document_id: str, text: str) -> None:
        """Register a verified, valid document (automatic persisted queries)."""
        if self.apq is not None:
            await self.apq.register(document_id, text)


class TrustedDocuments:
    """Only manifest documents run: by id, or (unless ``require_id``) by a text that is in it."""

    required = True

    def __init__(self, manifest: Manifest, *, require_id: bool) -> None:
        self.manifest = manifest
        self.require_id = require_id

    async def text(self, query: str | None, document_id: str | None) -> str:
        documents = self.manifest.documents()
        if document_id is None:
            if query is None:
                raise _missing_query()
            if self.require_id:
                raise graphql_request_error("only persisted documents run here: send their id", ID_REQUIRED)
            if id_of(query) not in documents:
                raise graphql_request_error("this document is not in the list of trusted documents", NOT_IN_SAFELIST)
            return query
        found = documents.get(document_id)
        if found is None:
            raise graphql_request_error("no trusted document has this id", NOT_IN_LIST)
        if query is not None and query != found:
            raise graphql_request_error("the document does not hash to the id sent with it", HASH_MISMATCH)
        return found

    async def keep(self, document_id: str, text: str) -> None:
        """The manifest is the only registry."""


def _missing_query() -> RequestError:
    return RequestError.of("the request has no `query` (nor a persisted document id)", BAD_REQUEST, status=400)


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the entry, never a document."""


def parse_manifest(raw: bytes) -> dict[str, str]:
    """Document text by id, from Apollo's persisted query manifest (``{"format":
    "apollo-persisted-query-manifest", "operations": [{"id", "body", ...}]}``) or a flat object
    of id to text (GraphQL Codegen's ``persisted-documents.json``, Relay's)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ManifestError("the manifest must be a JSON object")
    if "operations" in data and "format" in data:
        if data["format"] != "apollo-persisted-query-manifest" or not isinstance(data["operations"], list):
            raise ManifestError(f"unknown manifest format {str(data['format'])[:80]!r}")
        pairs = [
            (entry.get("id"), entry.get("body")) if isinstance(entry, dict) else (None, None)
            for entry in data["operations"]
        ]
    else:
        pairs = list(data.items())
    documents = {}
    for index, (raw_id, body) in enumerate(pairs):
        if not isinstance(body, str):
            raise ManifestError(f"entry {index}: no document text")
        try:
            normalized = document_id(raw_id)
        except RequestError:
            raise ManifestError(f"entry {index}: the id is not a sha256 digest") from None
        if id_of(body) != normalized:
            raise ManifestError(f"entry {index} ({normalized}): the document does not hash to its id")
        documents[normalized] = body
    return documents


@dataclass(frozen=True, slots=True)
class _Loaded:
    stamp: tuple[int, int, int]
    documents: dict[str, str]


class Manifest:
    """The trusted-documents file, re-read when its inode, modification time or size changes
    (one ``stat`` per request, as for secret files)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: _Loaded | None = None
        self._failed: tuple[tuple[int, int, int] | None, str] | None = None

    def documents(self) -> Mapping[str, str]:
        self._refresh()
        return self._loaded.documents if self._loaded is not None else {}

    def problem(self) -> str | None:
        """Why the current file is not in use (``None`` when it is)."""
        self._refresh()
        return None if self._failed is None else self._failed[1]

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except OSError as exc:
            self._fail(None, f"cannot be read ({type(exc).__name__})")
            return
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if (self._loaded is not None and self._loaded.stamp == stamp) or (
            self._failed is not None and self._failed[0] == stamp
        ):
            return
        try:
            documents = parse_manifest(self.path.read_bytes())
        except OSError as exc:
            self._fail(stamp, f"cannot be read ({type(exc).__name__})")
            return
        except ManifestError as exc:
            self._fail(stamp, str(exc))
            return
        self._loaded, self._failed = _Loaded(stamp, documents), None
        log.info("trusted_documents_loaded", path=str(self.path), documents=len(documents))

    def _fail(self, stamp: tuple[int, int, int] | None, reason: str) -> None:
        if self._failed != (stamp, reason):
            log.error("trusted_documents_unusable", path=str(self.path), reason=reason)
        self._failed = (stamp, reason)


def build_persisted(settings: GraphQLSettings, store: CacheStore | None) -> PersistedDocuments:
    """Trusted documents when a manifest is configured, else open documents (with automatic
    persisted queries in ``store`` when they are on)."""
    trusted = settings.trusted_documents
    if trusted.manifest is not None:
        return TrustedDocuments(Manifest(trusted.manifest), require_id=trusted.require_id)
    apq = settings.apq
    if not apq.enabled:
        return OpenDocuments(None)
    return OpenDocuments(
        AutomaticPersistedQueries(
            store=store, ttl_s=apq.ttl_s, max_query_bytes=apq.max_query_bytes, local_entries=apq.local_entries
        )
    )
