"""One long-lived aiohttp session per upstream, and the one way a request reaches it: REST calls
and GraphQL documents alike go through ``HttpUpstream.exchange`` (auth flow, send, what the
answer teaches the pipeline), inside the upstream's resilience pipeline."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Mapping
from functools import partial
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import orjson
from yarl import URL

from clients.auth import Auth, SessionBound
from clients.call_records import ANY_ROUTE, answered
from clients.errors import (
    UpstreamAuthFailed,
    UpstreamUnavailable,
    error_for_status,
    is_outage,
    transport_error,
)
from clients.memo import keep
from clients.messages import OutgoingRequest, RawResponse
from clients.policy import UpstreamPolicy
from clients.resilience.clock import TimeSource
from clients.resilience.pipeline import Pipeline
from clients.resilience.ratelimit_store import RateLimitStore
from clients.secrets import SecretUnavailable
from clients.shared_reads import SharedReads
from clients.spans import inject

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Safe to retry as they are; any other method only when it carries an ``Idempotency-Key``."""
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_ACCEPT_JSON = {"Accept": "application/json"}
_SEND_JSON = {"Accept": "application/json", "Content-Type": "application/json"}
"""The headers every request starts from (copied: the auth flow and the caller's headers add to them)."""


_PLAIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~,-"
"""Characters ``urlencode(..., safe=',')`` leaves as they are: a short text made of them alone strips
to nothing (one call of C, cheaper than a regular expression's match)."""
_PLAIN_TEXT = re.compile(f"[{re.escape(_PLAIN)}]*")
"""The same characters for a longer text (a comma-joined id list): ``strip`` looks each character up
in ``_PLAIN`` one by one, the expression's character set in a table (a 300-character id list:
about 7 times cheaper)."""
_SHORT = 16
"""Up to this length a text is checked by ``strip`` (and kept, see ``_query_texts``), past it by
``_PLAIN_TEXT``."""
_QUERY_TEXTS_MAX = 4096
_query_texts: dict[str, str] = {}
"""Short texts as a query writes them (names, ids and cursors repeat: a lookup is cheaper than the
check); all are dropped when the bound is reached."""


_URLS_MAX = 1024
"""URLs kept per upstream (a call's path and query repeat: an org, a user, a page size); all are
dropped when the bound is reached."""


def build_path(path: str, params: Mapping[str, str | int] | None) -> str:
    """``path?query`` as ``urlencode(params, safe=',')`` writes it; names and values that need no
    escaping (ids, numbers, comma-joined id lists) are taken as they are."""
    if not params:
        return path
    return f"{path}?{'&'.join(f'{_query_text(name)}={_query_text(value)}' for name, value in params.items())}"


def _query_text(value: str | int) -> str:
    if type(value) is int:
        return str(value)  # digits and a sign: nothing to escape
    text = value if type(value) is str else str(value)
    if len(text) > _SHORT:
        return text if _PLAIN_TEXT.fullmatch(text) is not None else quote_plus(text, safe=",")
    written = _query_texts.get(text)
    if written is None:
        escaped = text if not text.strip(_PLAIN) else quote_plus(text, safe=",")
        written = keep(_query_texts, text, escaped, _QUERY_TEXTS_MAX)
    return written


def json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def open_session(policy: UpstreamPolicy, auth: Auth[Any]) -> aiohttp.ClientSession:
    """The upstream's one long-lived session, shared with its auth scheme."""
    session = _build_session(policy)
    if isinstance(auth, SessionBound):
        auth.attach(session)
    return session


def build_pipeline(
    policy: UpstreamPolicy, *, store: RateLimitStore | None = None, time: TimeSource | None = None
) -> Pipeline:
    """The upstream's resilience pipeline; its own timeout is the policy's total timeout."""
    return Pipeline(
        upstream=policy.name,
        policy=policy.resilience,
        timeout_s=policy.timeouts.total_timeout_s,
        store=store,
        time=time,
    )


def _build_session(policy: UpstreamPolicy) -> aiohttp.ClientSession:
    timeouts = policy.timeouts
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=policy.pool_size, keepalive_timeout=30),
        # No total here: the resilience pipeline bounds each attempt by min(total, deadline left).
        timeout=aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.connect_timeout_s,
            sock_read=timeouts.read_timeout_s,
        ),
        json_serialize=json_text,
        raise_for_status=False,
    )


class HttpUpstream:
    """Sends requests to one upstream through its resilience pipeline; every attempt runs the
    auth flow afresh (so a retried signed request gets a fresh signature)."""

    def __init__(
        self,
        policy: UpstreamPolicy,
        auth: Auth[Any],
        *,
        rate_limit_store: RateLimitStore | None = None,
        time: TimeSource | None = None,
    ) -> None:
        self.policy = policy
        self.name = policy.name
        self.pipeline = build_pipeline(policy, store=rate_limit_store, time=time)
        self._auth = auth
        self._base = policy.base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        self.shared_reads = SharedReads(policy.name, enabled=policy.share_reads)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise UpstreamUnavailable("client is not started", upstream=self.name)
        return self._session

    @property
    def started(self) -> bool:
        return self._session is not None

    async def start(self) -> None:
        if self._session is None:
            self._session = open_session(self.policy, self._auth)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def send(
        self,
        method: str,
        path: str,
        *,
        route: str = ANY_ROUTE,
        params: Mapping[str, str | int] | None = None,
        json_body: object | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Awaitable[RawResponse]:
        """The pipeline's call (its coroutine, none more). ``route`` names the call in metrics,
        traces and logs: the declared template, never ``path``."""
        body = b"" if json_body is None else orjson.dumps(json_body)
        sent_headers = dict(_ACCEPT_JSON if json_body is None else _SEND_JSON)
        if headers:
            sent_headers.update(headers)
        request = OutgoingRequest(method.upper(), build_path(path, params), body, sent_headers)
        idempotent = request.method in IDEMPOTENT_METHODS or "Idempotency-Key" in request.headers
        if request.method not in _READS:
            self.shared_reads.wrote()
        return self.pipeline.call(partial(self._attempt, request), idempotent=idempotent, route=route)

    def _attempt(self, template: OutgoingRequest) -> Awaitable[RawResponse]:
        """``exchange`` of a fresh copy of ``template`` (the exchange's own coroutine, none more)."""
        return self.exchange(OutgoingRequest(template.method, template.path_qs, template.body, dict(template.headers)))

    async def exchange(self, request: OutgoingRequest) -> RawResponse:
        """One attempt: the auth around sending ``request`` (sign, send, on 401 maybe refresh and
        replay once). An outage status (429, 5xx) is raised for the pipeline; any other answer goes
        back to the caller to interpret. The sends run in this coroutine (one coroutine less for
        every resume of the request)."""
        auth = self._auth
        replayed = False
        try:
            used = auth.apply(request)
            if used is None:
                used = await auth.prepare(request)
            while True:
                url = self._url(request.path_qs)
                inject(request.headers)
                sent = time.perf_counter()
                try:
                    # Awaited, not entered: ``read`` releases the connection once the body is in (and
                    # closes it if reading fails), so the context manager's two coroutines around the
                    # request and its ``release`` afterwards would add nothing.
                    answer = await self.session.request(
                        request.method, url, data=request.body or None, headers=request.headers
                    )
                    body = await answer.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    raise transport_error(exc, upstream=self.name) from None
                status = answer.status
                answered(status, time.perf_counter() - sent)
                response = RawResponse(status=status, headers=answer.headers, body=body)
                if status != 401 or replayed or not await auth.refused(request, response, used):
                    break
                replayed = True
        except SecretUnavailable:
            raise UpstreamAuthFailed("credential source unavailable", upstream=self.name) from None
        info = self.pipeline.observe_now(status, response.headers)
        if info is None:
            info = await self.pipeline.observe(status, response.headers)
        if is_outage(status):
            raise error_for_status(status, upstream=self.name, retry_after_s=info.retry_after_s)
        return response

    def _url(self, path_qs: str) -> URL:
        """The URL of ``path_qs``, built once: parsing it, and what aiohttp then reads of it (host,
        port, origin: kept on the URL), is done again for every request otherwise."""
        url = self._urls.get(path_qs)
        if url is None:
            url = keep(self._urls, path_qs, URL(self._base + path_qs, encoded=True), _URLS_MAX)
        return url
