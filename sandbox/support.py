"""The support upstream: a helpdesk API in the style of the big ticketing vendors.

HTTP Basic `email/token:API_TOKEN`; cursor pages of an organization's tickets, a batch read of
at most 100 ids (missing ids are absent), one ticket, and a write that changes a ticket. The
account has a request limit per minute: every API answer says how much is left
(`X-Rate-Limit-Remaining`), and past it the answer is 429 with `Retry-After`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.admin import upstream_app
from sandbox.basic_auth import basic_credentials
from sandbox.faults import FixedWindowLimiter, RateLimitFault
from sandbox.injection import is_admin
from sandbox.keyring import RotatingSecret
from sandbox.models import JSON
from sandbox.openapi_common import with_server
from sandbox.openapi_support import SUPPORT_OPENAPI
from sandbox.params import parse_digits
from sandbox.registry import SandboxUpstream
from sandbox.seed import iso
from sandbox.support_data import PRIORITIES, STATUSES, SupportData, Ticket, fresh_support
from sandbox.upstream import Clock, Upstream, json_response
from sandbox.webhooks import WebhookSender, add_webhook_routes, next_version

MAX_BATCH = 100
MAX_PAGE = 100
ACCOUNT_LIMIT = RateLimitFault(limit=700, window_s=60)
"""Requests per window the account allows until `/_sandbox/rate-limit` says otherwise."""
_MAX_CURSOR_CHARS = 64


@dataclass(frozen=True, kw_only=True)
class SupportCredentials:
    email: str = "gateway@mobius.example"
    """The agent the API token belongs to; the Basic user name is `<email>/token`."""
    api_token: str = field(default="sandbox-support-token", repr=False)
    webhook_secret: str = field(default="sandbox-support-webhooks", repr=False)
    """Signs the GitHub-style webhooks this upstream sends (``X-Hub-Signature-256``)."""


def support_error(status: int, code: str, message: str) -> JSON:
    return {"error": code, "description": message}


class TicketChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, min_length=1, max_length=300)
    status: str | None = None
    priority: str | None = None


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: TicketChange


class SupportApi:
    """Handlers and state of the support upstream; `reset` restores the seed and the account limit."""

    def __init__(self, credentials: SupportCredentials, clock: Clock) -> None:
        self.credentials = credentials
        self.clock = clock
        self.data: SupportData = fresh_support()
        self.api_token = RotatingSecret(credentials.api_token, clock)
        self.limiter = self._limiter(ACCOUNT_LIMIT)
        self.webhooks = WebhookSender("support", "github_hmac_sha256", credentials.webhook_secret, clock=clock)
        self.versions: dict[str, int] = {}
        self.upstream = Upstream(
            error_body=support_error, reset_state=self.reset, clock=clock, keyrings={"api_token": self.api_token}
        )

    def reset(self) -> None:
        self.data = fresh_support()
        self.limiter = self._limiter(ACCOUNT_LIMIT)
        self.webhooks.reset()

    def _limiter(self, limit: RateLimitFault) -> FixedWindowLimiter:
        return FixedWindowLimiter(limit=limit.limit, window_s=limit.window_s, clock=self.clock)

    @web.middleware
    async def limit_rate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The account's own limit: counted before authentication, reported on every API answer."""
        if is_admin(request):
            return await handler(request)
        decision = self.limiter.hit()
        headers = {"X-Rate-Limit": str(decision.limit), "X-Rate-Limit-Remaining": str(decision.remaining)}
        if not decision.allowed:
            headers["Retry-After"] = str(decision.reset_s)
            return self.upstream.error(429, "TooManyRequests", "Number of allowed API requests exceeded.", headers)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(headers)
            raise
        response.headers.update(headers)
        return response

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """HTTP Basic with `<agent email>/token` as the user and the API token as the password."""
        if is_admin(request):
            return await handler(request)
        pair = basic_credentials(request.headers.get("Authorization", ""))
        key_id: str | None = None
        if pair is not None and hmac.compare_digest(pair[0].encode(), f"{self.credentials.email}/token".encode()):
            key_id = self.api_token.match(pair[1])
        self.api_token.record(key_id)
        if key_id is None:
            return self.upstream.error(
                401, "Unauthorized", "Couldn't authenticate you.", {"WWW-Authenticate": 'Basic realm="Web Password"'}
            )
        return await handler(request)

    async def org_tickets(self, request: web.Request) -> web.Response:
        org_id = request.match_info["org_id"]
        ids = self.data.by_org.get(org_id)
        if ids is None:
            return self._not_found(f"No organization {org_id!r}.")
        size = parse_digits(request.query.get("page[size]", str(MAX_PAGE)))
        if size is None or not 1 <= size <= MAX_PAGE:
            return self._bad("InvalidPaginationParameter", f"page[size] must be an integer from 1 to {MAX_PAGE}.")
        after = _decode_cursor(request.query.get("page[after]"))
        if after is None:
            return self._bad("InvalidPaginationParameter", "page[after] is not a cursor this API issued.")
        following = [ticket_id for ticket_id in ids if ticket_id > after]
        page = following[:size]
        has_more = len(following) > size
        after_cursor = _encode_cursor(page[-1]) if page else None
        next_url = None
        if has_more and after_cursor is not None:
            next_url = str(request.url.with_query({"page[size]": str(size), "page[after]": after_cursor}))
        return json_response(
            {
                "tickets": [self.data.tickets[ticket_id].to_json() for ticket_id in page],
                "meta": {"has_more": has_more, "after_cursor": after_cursor},
                "links": {"next": next_url},
            }
        )

    async def show_many(self, request: web.Request) -> web.Response:
        ids = [part.strip() for part in request.query.get("ids", "").split(",") if part.strip()]
        if not ids:
            return self._bad("InvalidValue", "ids is required: a comma-separated list of ticket ids.")
        if len(ids) > MAX_BATCH:
            return self._bad("InvalidValue", f"At most {MAX_BATCH} ids per request.")
        found = (self._ticket(ticket_id) for ticket_id in dict.fromkeys(ids))
        return json_response({"tickets": [ticket.to_json() for ticket in found if ticket is not None]})

    async def show(self, request: web.Request) -> web.Response:
        ticket = self._ticket(request.match_info["id"])
        if ticket is None:
            return self._not_found("Not found.")
        return json_response({"ticket": ticket.to_json()})

    async def update(self, request: web.Request) -> web.Response:
        """Change a ticket's subject, status or priority; a closed ticket cannot change."""
        ticket = self._ticket(request.match_info["id"])
        if ticket is None:
            return self._not_found("Not found.")
        try:
            change = TicketUpdate.model_validate(await request.json()).ticket
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
            return self._bad("InvalidValue", f'Body must be {{"ticket": {{subject?, status?, priority?}}}}: {exc}')
        problem = _change_problem(ticket, change)
        if problem is not None:
            return self.upstream.error(422, "RecordInvalid", problem)
        ticket.subject = change.subject or ticket.subject
        ticket.status = change.status or ticket.status
        ticket.priority = change.priority or ticket.priority
        ticket.updated_at = iso(int(self.clock()))
        self.upstream.answers.forget()
        change_json = {
            "id": str(ticket.id),
            "organization_id": ticket.organization_id,
            "status": ticket.status,
            "priority": ticket.priority,
            "version": next_version(self.versions, str(ticket.id), self.clock),
        }
        self.webhooks.emit(
            "ticket.updated", {"type": "ticket.updated", "occurred_at": self.clock(), "ticket": change_json}
        )
        return json_response({"ticket": ticket.to_json()})

    async def set_rate_limit(self, request: web.Request) -> web.Response:
        """Admin: the account allows `{"limit": n, "window_s": s}` from now on (until reset)."""
        try:
            limit = RateLimitFault.model_validate(await request.json())
        except (json.JSONDecodeError, ValidationError) as exc:
            return self._bad("InvalidValue", f'Body must be {{"limit": <n >= 0>, "window_s": <s > 0>}}: {exc}')
        self.limiter = self._limiter(limit)
        return json_response(limit.model_dump())

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(with_server(SUPPORT_OPENAPI, request))

    def _ticket(self, raw_id: str) -> Ticket | None:
        ticket_id = parse_digits(raw_id)
        return None if ticket_id is None else self.data.tickets.get(ticket_id)

    def _not_found(self, message: str) -> web.Response:
        return self.upstream.error(404, "RecordNotFound", message)

    def _bad(self, code: str, message: str) -> web.Response:
        return self.upstream.error(400, code, message)


def _change_problem(ticket: Ticket, change: TicketChange) -> str | None:
    if ticket.status == "closed":
        return "Status: closed prevents ticket update."
    if change.status is not None and change.status not in STATUSES:
        return f"Status: must be one of {', '.join(STATUSES)}."
    if change.status == "new" and ticket.status != "new":
        return "Status: cannot be set back to new."
    if change.priority is not None and change.priority not in PRIORITIES:
        return f"Priority: must be one of {', '.join(PRIORITIES)}."
    return None


def _encode_cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{ticket_id}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int | None:
    """The ticket id a cursor continues after: 0 for none, None for one this API did not issue."""
    if not cursor:
        return 0
    if len(cursor) > _MAX_CURSOR_CHARS:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return parse_digits(value) if kind == "after" else None


def create_support_app(credentials: SupportCredentials, *, clock: Clock) -> web.Application:
    api = SupportApi(credentials, clock)
    app = upstream_app(api.upstream, middlewares=[api.limit_rate, api.authenticate])
    remembered = api.upstream.answers.remembered
    app.router.add_get("/api/v2/organizations/{org_id}/tickets", api.org_tickets)  # its links carry the Host
    app.router.add_get("/api/v2/tickets/show_many", remembered(api.show_many))
    app.router.add_get("/api/v2/tickets/{id}", remembered(api.show))
    app.router.add_put("/api/v2/tickets/{id}", api.update)
    app.router.add_post("/_sandbox/rate-limit", api.set_rate_limit)
    app.router.add_get("/openapi.json", api.openapi)
    add_webhook_routes(app, api.webhooks)
    return app


def gateway_section(base_url: str, credentials: SupportCredentials) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "auth": {"type": "basic", "username": f"{credentials.email}/token", "password": credentials.api_token},
        "webhook": {"secret": credentials.webhook_secret},
    }


SANDBOX = SandboxUpstream(
    name="support",
    default_port=8104,
    credentials=SupportCredentials(),
    create_app=create_support_app,
    gateway_section=gateway_section,
    summary="helpdesk tickets (REST, HTTP Basic email/token:API_TOKEN, cursor pages)",
)
