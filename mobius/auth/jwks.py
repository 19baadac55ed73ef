"""The identity provider's signing keys: a JWKS fetched from a URL (cached, refreshed) or read from a file.

A URL's keys are fetched at start, kept for ``cache_s`` and then refreshed in the background while
the known keys keep verifying. A token signed by a key the gateway does not know makes it fetch
at once (a rotation at the provider), but at most once per ``min_refresh_interval_s``, and
concurrent requests share that one fetch: a flood of tokens with made-up key ids costs the
provider one request per interval. When a fetch fails the last good keys stay in use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import orjson
import structlog
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from mobius.auth.errors import KeysUnavailable
from mobius.settings import JwtSettings

log = structlog.get_logger("mobius.auth")

SIGNING_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
"""Asymmetric key types only: a symmetric (``oct``) key in a public key set is never trusted."""
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_KEYS = 100


class InvalidKeySet(ValueError):
    """A JWKS document that is not one (names the problem, never the content)."""


@dataclass(frozen=True, slots=True, eq=False)
class KeySet:
    """Public signing keys by key id (``kid``); keys without one in ``unnamed``."""

    by_kid: Mapping[str, Mapping[str, Any]]
    unnamed: tuple[Mapping[str, Any], ...] = ()
    _built: dict[tuple[str | None, str], PyJWK | None] = field(default_factory=dict)

    def key(self, kid: str | None, algorithm: str) -> PyJWK | None:
        """The key to verify a token with ``kid`` and ``algorithm``; ``None`` when none fits. A token
        without ``kid`` is verified only by a set of exactly one key."""
        memo = (kid, algorithm)
        if memo in self._built:
            return self._built[memo]
        jwk = self._find(kid)
        if jwk is None:
            return None  # not remembered: key ids a client makes up must not grow this set
        built = None
        if jwk.get("alg", algorithm) == algorithm:
            try:
                built = PyJWK(dict(jwk), algorithm=algorithm)
            except PyJWKError:
                built = None  # the key cannot serve this algorithm (an RSA key for ES256, say)
        self._built[memo] = built
        return built

    def _find(self, kid: str | None) -> Mapping[str, Any] | None:
        if kid is not None:
            return self.by_kid.get(kid)
        everything = (*self.by_kid.values(), *self.unnamed)
        return everything[0] if len(everything) == 1 else None

    def __len__(self) -> int:
        return len(self.by_kid) + len(self.unnamed)


def parse_key_set(document: bytes) -> KeySet:
    """The signing keys of a JWKS document; keys for encryption or of symmetric types are left out,
    private members are dropped."""
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:
        raise InvalidKeySet("not JSON") from None
    keys = parsed.get("keys") if isinstance(parsed, dict) else None
    if not isinstance(keys, list):
        raise InvalidKeySet('not a JWKS: no "keys" list')
    by_kid: dict[str, Mapping[str, Any]] = {}
    unnamed: list[Mapping[str, Any]] = []
    for jwk in keys[:MAX_KEYS]:
        if not _is_signing_key(jwk):
            continue
        public = {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
        kid = public.get("kid")
        if isinstance(kid, str):
            by_kid[kid] = public
        else:
            unnamed.append(public)
    if not by_kid and not unnamed:
        raise InvalidKeySet("no signing keys")
    return KeySet(by_kid=by_kid, unnamed=tuple(unnamed))


def _is_signing_key(jwk: object) -> bool:
    if not isinstance(jwk, dict) or jwk.get("kty") not in SIGNING_KEY_TYPES:
        return False
    if jwk.get("use", "sig") != "sig":
        return False
    operations = jwk.get("key_ops")
    return operations is None or (isinstance(operations, list) and "verify" in operations)


class KeySource(Protocol):
    """Where the signing keys come from."""

    async def start(self) -> None:
        """Load the keys ahead of the first token (a failure is logged, not raised)."""
        ...

    async def current(self) -> KeySet:
        """The keys to verify with now; raises ``KeysUnavailable`` when there are none."""
        ...

    async def after_unknown_key(self) -> KeySet:
        """The keys once more, re-read now if that is allowed (a token named a key not in ``current``)."""
        ...

    async def close(self) -> None: ...


class JwksUrl:
    """A JWKS served over HTTP by the identity provider (``/.well-known/jwks.json``)."""

    def __init__(
        self,
        url: str,
        *,
        cache_s: float,
        min_refresh_interval_s: float,
        timeout_s: float,
        max_bytes: int,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self._cache_s = cache_s
        self._min_interval_s = min_refresh_interval_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_bytes = max_bytes
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._fetch: asyncio.Task[KeySet | None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self._fetched()

    async def current(self) -> KeySet:
        keys = self._keys
        if keys is None:
            return await self._required(await self._fetched())
        if self._clock() - self._fetched_at >= self._cache_s and self._may_fetch():
            self._start_fetch()  # known keys keep verifying meanwhile
        return keys

    async def after_unknown_key(self) -> KeySet:
        return await self._required(await self._fetched())

    async def close(self) -> None:
        fetch = self._fetch
        if fetch is not None:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _required(self, keys: KeySet | None) -> KeySet:
        if keys is None:
            raise KeysUnavailable(f"the signing keys at {self.url} could not be fetched")
        return keys

    def _may_fetch(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or self._clock() - attempted >= self._min_interval_s

    async def _fetched(self) -> KeySet | None:
        """The keys after the fetch in flight, or a new one (when allowed); the known keys otherwise."""
        if self._fetch is None:
            if not self._may_fetch():
                return self._keys
            self._start_fetch()
        assert self._fetch is not None
        return await asyncio.shield(self._fetch)  # a waiter that gives up does not cancel the others' fetch

    def _start_fetch(self) -> None:
        if self._fetch is not None:
            return
        self._attempted_at = self._clock()
        self._fetch = asyncio.get_running_loop().create_task(self._download())
        self._fetch.add_done_callback(self._fetch_done)

    def _fetch_done(self, _: asyncio.Task[KeySet | None]) -> None:
        self._fetch = None

    async def _download(self) -> KeySet | None:
        """Never raises: a failure is logged and the known keys (or none) stay."""
        try:
            keys = parse_key_set(await self._get())
        except (aiohttp.ClientError, TimeoutError, InvalidKeySet) as exc:
            log.warning("jwks_fetch_failed", url=self.url, error_type=type(exc).__name__, error=str(exc)[:200])
            return self._keys
        self._keys, self._fetched_at = keys, self._clock()
        return keys

    async def _get(self) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(self.url, headers={"Accept": "application/json"}) as response:
            if response.status != 200:
                raise InvalidKeySet(f"HTTP {response.status}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > self._max_bytes:
                    raise InvalidKeySet(f"larger than {self._max_bytes} bytes")
                chunks.append(chunk)
        return b"".join(chunks)


class JwksFile:
    """A JWKS document on disk, re-read when its inode, modification time or size changes."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._stamp: tuple[int, int, int] | None = None
        self._keys: KeySet | None = None
        self._failing = False

    async def start(self) -> None:
        with contextlib.suppress(KeysUnavailable):  # logged by `current`
            await self.current()

    async def current(self) -> KeySet:
        try:
            stat = self.path.stat()
        except OSError as exc:
            return self._keep(f"cannot be read ({type(exc).__name__})")
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return self._keep("is not a usable JWKS") if self._keys is None else self._keys
        self._stamp = stamp  # a bad document is not read again until it changes
        try:
            if stat.st_size > self._max_bytes:
                raise InvalidKeySet(f"larger than {self._max_bytes} bytes")
            keys = parse_key_set(self.path.read_bytes())
        except (OSError, InvalidKeySet) as exc:
            return self._keep(f"cannot be used ({exc})")
        self._keys, self._failing = keys, False
        return keys

    def _keep(self, problem: str) -> KeySet:
        """The keys read before, if any (the problem said once, not per request)."""
        if not self._failing:
            log.warning("jwks_file_unusable", path=str(self.path), problem=problem)
        self._failing = True
        if self._keys is None:
            raise KeysUnavailable(f"the JWKS file {str(self.path)!r} {problem}")
        return self._keys

    async def after_unknown_key(self) -> KeySet:
        return await self.current()

    async def close(self) -> None:
        """Nothing is held open."""


def key_source(settings: JwtSettings, *, clock: Callable[[], float]) -> KeySource:
    if settings.jwks_file is not None:
        return JwksFile(settings.jwks_file, max_bytes=settings.jwks_max_bytes)
    assert settings.jwks_url is not None  # one of the two, by validation
    return JwksUrl(
        settings.jwks_url,
        cache_s=settings.jwks_cache_s,
        min_refresh_interval_s=settings.jwks_refresh_min_interval_s,
        timeout_s=settings.jwks_timeout_s,
        max_bytes=settings.jwks_max_bytes,
        clock=clock,
    )
