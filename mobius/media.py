"""Media types at ``/graphql``: which response type an ``Accept`` header asks for (RFC 9110
negotiation with q-values and wildcards), and what a ``Content-Type`` says.

Header values are client text: only their first ``MAX_HEADER_CHARS`` characters are read, each is
split once (no regular expressions), and the verdicts for recent values are kept, since clients
send the same few values again and again.
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
HTML = "text/html"
EVENT_STREAM = "text/event-stream"
"""GraphQL over Server-Sent Events (``mobius.subscriptions.sse``), where subscriptions are on."""

SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "multipart/form-data", "application/x-www-form-urlencoded"})
"""Content types a browser sends cross-site without a CORS preflight."""

MAX_HEADER_CHARS = 1024
MAX_RANGES = 32
_REMEMBERED = 256


@dataclass(frozen=True, slots=True)
class MediaType:
    """A parsed ``type/subtype; charset=...`` (lower case, parameters other than charset dropped)."""

    essence: str
    charset: str | None = None


def parse_media_type(value: str) -> MediaType:
    essence, _, parameters = value[:MAX_HEADER_CHARS].partition(";")
    charset = None
    for parameter in parameters.split(";")[:MAX_RANGES]:
        name, _, raw = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = raw.strip().strip('"').lower()
    return MediaType(essence.strip().lower(), charset)


def is_utf8(media_type: MediaType) -> bool:
    return media_type.charset in (None, "utf-8", "utf8")


@dataclass(frozen=True, slots=True)
class _Range:
    type: str
    subtype: str
    q: float

    def specificity(self, offered: str) -> int:
        """2 for an exact match, 1 for ``type/*``, 0 for ``*/*``, -1 for no match."""
        kind, _, sub = offered.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else -1
        if self.type != kind:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else -1


def _ranges(accept: str) -> list[_Range]:
    ranges = []
    for part in accept[:MAX_HEADER_CHARS].split(",")[:MAX_RANGES]:
        media, _, parameters = part.partition(";")
        kind, slash, sub = media.strip().lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append(_Range(kind.strip(), sub.strip(), q))
    return ranges


def _choose(accept: str, offered: tuple[str, ...]) -> str | None:
    """The offered type the client prefers: highest q, then the most specific range that names it.
    Among types only a wildcard matches, ``application/json`` comes first (what a client that
    names no type is most likely to read); among types named exactly, the order of ``offered``.
    A header with no readable media range is taken as absent."""
    ranges = _ranges(accept)
    if not ranges:
        return JSON if JSON in offered else offered[0]
    best: tuple[float, int, int] | None = None
    chosen = None
    for index, media in enumerate(offered):
        q, specificity = 0.0, -1
        for candidate in ranges:
            level = candidate.specificity(media)
            if level > specificity:
                q, specificity = candidate.q, level
        if specificity < 0 or q <= 0.0:
            continue
        preference = -index if specificity == 2 else (1 if media == JSON else -index)
        rank = (q, specificity, preference)
        if best is None or rank > best:
            best, chosen = rank, media
    return chosen


class Negotiator:
    """Picks response media types and remembers its verdicts for recent ``Accept`` values."""

    def __init__(self) -> None:
        self._verdicts: dict[tuple[str, tuple[str, ...]], str | None] = {}

    def choose(self, accept: str | None, offered: tuple[str, ...]) -> str | None:
        """``None`` when nothing offered is acceptable (406). No ``Accept`` (or an empty one) is
        taken as ``application/json``, as a legacy client means it."""
        if not accept:
            return JSON if JSON in offered else offered[0]
        key = (accept, offered)
        verdict = self._verdicts.get(key, "")
        if verdict == "":
            if len(self._verdicts) >= _REMEMBERED:
                self._verdicts.clear()
            verdict = self._verdicts[key] = _choose(accept, offered)
        return verdict


@dataclass(frozen=True, slots=True)
class ResponseMedia:
    """The media type a response is sent in. Under ``application/json`` (``legacy``) a GraphQL
    request error is sent with 200, as GraphQL over HTTP asks for clients that predate
    ``application/graphql-response+json``."""

    content_type: bytes
    legacy: bool


RESPONSE_MEDIA = {
    GRAPHQL_RESPONSE: ResponseMedia(b"application/graphql-response+json; charset=utf-8", legacy=False),
    JSON: ResponseMedia(b"application/json; charset=utf-8", legacy=True),
}
