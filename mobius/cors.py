"""Cross-origin access to ``/graphql`` (``http.cors``): which browser origins may read its
answers, and the answer to a preflight.

CORS only tells a browser whether a page may read a response; it does not stop a request from
being sent. Requests a page can send cross-site without a preflight are the CSRF rule's concern
(``mobius.admission``). A WebSocket handshake has no preflight: its ``Origin`` is checked here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from mobius.request_errors import RequestError, refused
from mobius.settings import CorsSettings

METHODS = b"GET, POST"
MAX_REQUESTED_HEADERS = 64


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without a trailing slash."""
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsPolicy:
    origins: frozenset[str]
    any_origin: bool
    credentials: bool
    allow_headers: frozenset[str]
    """Lower case."""
    allow_headers_value: bytes
    expose_headers_value: bytes
    max_age_s: int

    @classmethod
    def of(cls, settings: CorsSettings, *, deadline_header: str) -> CorsPolicy:
        headers = [*settings.allow_headers, deadline_header]
        return cls(
            origins=frozenset(normalize_origin(origin) for origin in settings.allow_origins if origin != "*"),
            any_origin="*" in settings.allow_origins,
            credentials=settings.allow_credentials,
            allow_headers=frozenset(header.lower() for header in headers),
            allow_headers_value=", ".join(dict.fromkeys(headers)).encode("latin-1"),
            expose_headers_value=", ".join(settings.expose_headers).encode("latin-1"),
            max_age_s=settings.max_age_s,
        )

    @property
    def enabled(self) -> bool:
        return self.any_origin or bool(self.origins)

    def allows(self, origin: str) -> bool:
        return self.any_origin or normalize_origin(origin) in self.origins

    def response_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """Headers that let a page of ``origin`` read this response (none for other origins)."""
        if origin is None or not self.enabled:
            return []
        headers = [(b"vary", b"Origin")]
        if not self.allows(origin):
            return headers
        if self.any_origin and not self.credentials:
            headers = [(b"access-control-allow-origin", b"*")]
        else:
            headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        if self.credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        if self.expose_headers_value:
            headers.append((b"access-control-expose-headers", self.expose_headers_value))
        return headers

    def preflight(self, origin: str, method: str, requested_headers: str | None) -> list[tuple[bytes, bytes]]:
        """The headers of a granted preflight; a ``RequestError`` (403) for one that is not."""
        if not self.allows(origin):
            raise _refused(f"origin {origin[:200]!r} may not call this endpoint")
        if method not in ("GET", "POST"):
            raise _refused(f"method {method[:20]!r} is not allowed")
        requested = [name.strip().lower() for name in (requested_headers or "").split(",")[:MAX_REQUESTED_HEADERS]]
        unknown = [name for name in requested if name and name not in self.allow_headers]
        if unknown:
            raise _refused(f"header {unknown[0][:80]!r} is not allowed")
        headers = self.response_headers(origin)
        headers += [
            (b"access-control-allow-methods", METHODS),
            (b"access-control-allow-headers", self.allow_headers_value),
            (b"access-control-max-age", str(self.max_age_s).encode()),
        ]
        return headers

    def allows_websocket(self, origin: str | None, host: str | None) -> bool:
        """A handshake from a page of another origin needs that origin allowed; clients that send no
        ``Origin`` are not browsers (they carry no ambient credentials)."""
        if origin is None:
            return True
        parsed = urlsplit(origin)
        if host is not None and parsed.netloc.lower() == host.lower():
            return True
        return self.allows(origin)


def _refused(message: str) -> RequestError:
    return refused(f"CORS preflight refused: {message}", "CORS_PREFLIGHT_REFUSED", status=403)
