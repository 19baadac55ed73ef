"""``POST /webhooks/{upstream}``: verify on the raw body, then parse, then append to the durable
stream; the answer (202) comes only after the append. Nothing is applied inline.

404 unknown upstream (or one without webhooks configured), 413 body past ``max_body_bytes``,
400 malformed headers or body, 401 unsigned, badly signed or stale; 200 for a replayed id or an
event not newer than the applied version (acknowledged, not applied); 503 when the stream cannot
be reached (the sender retries). Never 500, and a refused delivery changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from clients.declaration import Webhook
from clients.registry import registry
from clients.secrets import SecretSource, SecretUnavailable
from mobius.events.model import Event, events_of
from mobius.events.signatures import Rejected, verify
from mobius.events.stream import EventStream
from mobius.settings import EventsSettings, Settings
from mobius.telemetry.events import count_event
from mobius.upstreams import secret_source

log = structlog.get_logger("mobius.events.intake")

_RETRY_AFTER_S = "5"


@dataclass(frozen=True, slots=True)
class WebhookIntake:
    """One upstream's webhook: its declaration and its secrets (current first)."""

    upstream: str
    webhook: Webhook
    secrets: tuple[SecretSource, ...]
    max_body_bytes: int

    def revealed(self) -> list[str]:
        values = []
        for source in self.secrets:
            try:
                values.append(source.reveal())
            except SecretUnavailable:
                log.warning("webhook_secret_unavailable", upstream=self.upstream)
        return values


def declared_intakes(settings: Settings) -> dict[str, WebhookIntake]:
    """Upstreams whose vendor declares webhooks and whose settings give a secret."""
    declared = registry()
    intakes = {}
    for name, section in settings.upstreams.items():
        upstream = declared.upstream(name)
        assert upstream is not None
        webhook = declared.vendor(upstream, section.vendor).webhook
        if webhook is None or section.webhook is None:
            continue
        refs = [section.webhook.secret, *([section.webhook.previous_secret] if section.webhook.previous_secret else [])]
        intakes[name] = WebhookIntake(
            upstream=name,
            webhook=webhook,
            secrets=tuple(secret_source(ref) for ref in refs),
            max_body_bytes=section.webhook.max_body_bytes,
        )
    return intakes


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Rejected(413, f"body larger than {limit} bytes", outcome="rejected_too_large")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body larger than {limit} bytes", outcome="rejected_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(upstream: str, rejected: Rejected) -> JSONResponse:
    count_event(upstream, rejected.outcome)
    log.warning("webhook_rejected", upstream=upstream, status=rejected.status, reason=rejected.reason[:200])
    return JSONResponse({"error": rejected.reason[:200]}, status_code=rejected.status)


async def _events(intake: WebhookIntake, request: Request, *, now_s: float, tolerance_s: float) -> list[Event]:
    """The delivery's events, verified and parsed; raises ``Rejected``."""
    body = await _bounded_body(request, intake.max_body_bytes)
    headers = {name.lower(): value for name, value in request.headers.items()}
    secrets = intake.revealed()
    if not secrets:  # ours to fix, not the sender's: it retries
        raise Rejected(503, "the webhook secret is unavailable; retry later", outcome="rejected_unavailable")
    verified = verify(intake.webhook.scheme, headers, body, secrets, now_s=now_s, tolerance_s=tolerance_s)
    try:
        changes = intake.webhook.parse(body)
    except ValueError as exc:
        raise Rejected(400, f"malformed body: {exc}") from None
    return events_of(changes, delivery_id=verified.delivery_id, source=intake.upstream)


def webhooks_router(
    intakes: dict[str, WebhookIntake],
    stream: EventStream,
    settings: EventsSettings,
    *,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    router = APIRouter()

    async def receive(request: Request) -> JSONResponse:
        upstream: str = request.path_params["upstream"]
        intake = intakes.get(upstream)
        if intake is None:
            return JSONResponse({"error": "no webhooks are accepted for this upstream"}, status_code=404)
        try:
            events = await _events(intake, request, now_s=clock(), tolerance_s=settings.tolerance_s)
        except Rejected as exc:
            return _refuse(upstream, exc)
        outcomes = []
        try:
            for event in events:
                outcomes.append(await stream.admit(event))
        except (RedisError, OSError) as exc:
            log.warning("webhook_stream_unavailable", upstream=upstream, error=type(exc).__name__)
            return JSONResponse(
                {"error": "the event stream is unavailable; retry later"},
                status_code=503,
                headers={"Retry-After": _RETRY_AFTER_S},
            )
        for outcome in outcomes:
            count_event(upstream, outcome)
        accepted = outcomes.count("accepted")
        return JSONResponse(
            {"accepted": accepted, "replayed": outcomes.count("replay"), "stale": outcomes.count("stale")},
            status_code=202 if accepted else 200,
        )

    # a plain route: the path parameter is all it takes, so no per-request dependency solving
    router.add_route("/webhooks/{upstream}", receive, methods=["POST"], include_in_schema=False)
    return router
