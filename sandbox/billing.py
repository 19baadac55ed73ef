"""The billing upstream: Stripe-like customers, subscriptions and invoices behind a signed API key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.admin import upstream_app
from sandbox.injection import is_admin
from sandbox.keyring import RotatingSecret
from sandbox.models import JSON, BillingData, Invoice
from sandbox.openapi_billing import BILLING_OPENAPI
from sandbox.openapi_common import with_server
from sandbox.params import parse_digits
from sandbox.registry import SandboxUpstream
from sandbox.seed import fresh_billing
from sandbox.signing import SIGNATURE_HEADER, verify
from sandbox.upstream import Clock, Upstream, json_response
from sandbox.webhooks import WebhookSender, add_webhook_routes, next_version

INVOICE_STATUSES = frozenset({"draft", "open", "paid", "void", "uncollectible"})
PAYABLE = frozenset({"open", "uncollectible"})
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True, kw_only=True)
class BillingCredentials:
    api_key: str = field(default="sk_sandbox_mobius", repr=False)
    signing_secret: str = field(default="sandbox-billing-signing-secret", repr=False)
    webhook_secret: str = field(default="whsec_c2FuZGJveC1iaWxsaW5nLXdlYmhvb2tz", repr=False)
    """Signs the Standard Webhooks this upstream sends (``whsec_`` + base64 of the key)."""
    signature_required: bool = True
    """False accepts unsigned requests (signed ones are still verified): for benchmark peers that
    cannot sign."""


def billing_error(status: int, code: str, message: str) -> JSON:
    if status == 401:
        kind = "authentication_error"
    elif status == 429:
        kind = "rate_limit_error"
    elif status >= 500:
        kind = "api_error"
    else:
        kind = "invalid_request_error"
    return {"error": {"type": kind, "code": code, "message": message}}


@dataclass(frozen=True, slots=True)
class _Replay:
    path: str
    status: int
    body: JSON


def _list(items: Iterable[JSON], *, has_more: bool = False) -> web.Response:
    return json_response({"object": "list", "data": list(items), "has_more": has_more})


class BillingApi:
    """Handlers and state of the billing upstream; `reset` restores the seed and idempotency keys."""

    def __init__(self, credentials: BillingCredentials, clock: Clock) -> None:
        self.credentials = credentials
        self.clock = clock
        self.data: BillingData = fresh_billing()
        self.replays: dict[str, _Replay] = {}
        self.api_key = RotatingSecret(credentials.api_key, clock)
        self.signing_secret = RotatingSecret(credentials.signing_secret, clock)
        self.webhooks = WebhookSender("billing", "standard_webhooks", credentials.webhook_secret, clock=clock)
        self.versions: dict[str, int] = {}
        self.upstream = Upstream(
            error_body=billing_error,
            reset_state=self.reset,
            clock=clock,
            keyrings={"api_key": self.api_key, "signing_secret": self.signing_secret},
        )

    def reset(self) -> None:
        self.data = fresh_billing()
        self.replays.clear()
        self.webhooks.reset()

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """API key (bearer, `X-Api-Key` or `?api_key=`) plus an HMAC signature over the exact request."""
        if is_admin(request):
            return await handler(request)
        key = _presented_key(request)
        key_id = self.api_key.match(key) if key else None
        self.api_key.record(key_id)
        if key_id is None:
            return self._unauthorized("invalid_api_key", "Invalid API key provided.")
        header = request.headers.get(SIGNATURE_HEADER)
        if header is None and not self.credentials.signature_required:
            return await handler(request)
        if header is None:
            return self._unauthorized("signature_missing", f"{SIGNATURE_HEADER} is required.")
        body = await request.read()
        problem: str | None = None
        signed_by: str | None = None
        for secret_id, secret in self.signing_secret.active():
            problem = verify(secret, header, request.method, request.raw_path, body, now=self.clock())
            if problem is None:
                signed_by = secret_id
                break
        self.signing_secret.record(signed_by)
        if problem is not None:
            return self._unauthorized("signature_invalid", problem)
        return await handler(request)

    async def list_customers(self, request: web.Request) -> web.Response:
        org_id = request.query.get("org_id")
        if not org_id:
            return self._missing("org_id")
        customer_id = self.data.customer_by_org.get(org_id)
        customers = [] if customer_id is None else [self.data.customers[customer_id].to_json()]
        return _list(customers)

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        customer = request.query.get("customer")
        if not customer:
            return self._missing("customer")
        subs = self.data.subscriptions.values()
        return _list(s.to_json() for s in subs if s.customer == customer)

    async def list_invoices(self, request: web.Request) -> web.Response:
        query = request.query
        customer = query.get("customer")
        if not customer:
            return self._missing("customer")
        status = query.get("status")
        if status is not None and status not in INVOICE_STATUSES:
            allowed = ", ".join(sorted(INVOICE_STATUSES))
            return self._invalid("status", f"status must be one of: {allowed}.")
        limit = parse_digits(query.get("limit", str(DEFAULT_LIMIT)))
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            return self._invalid("limit", f"limit must be an integer from 1 to {MAX_LIMIT}.")
        ids = self.data.invoices_by_customer.get(customer, [])
        starting_after = query.get("starting_after")
        if starting_after:
            if starting_after not in ids:
                return self.upstream.error(400, "resource_missing", f"No invoice {starting_after!r} for this customer.")
            ids = ids[ids.index(starting_after) + 1 :]
        invoices = [self.data.invoices[i] for i in ids]
        matching = [inv for inv in invoices if status is None or inv.status == status]
        return _list((inv.to_json() for inv in matching[:limit]), has_more=len(matching) > limit)

    async def pay_invoice(self, request: web.Request) -> web.Response:
        """Pay an open invoice; a repeated `Idempotency-Key` replays the first response verbatim."""
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            replay = self.replays.get(key)
            if replay is not None:
                if replay.path != request.path:
                    return self.upstream.error(400, "idempotency_key_in_use", "Key was used for a different request.")
                return json_response(replay.body, status=replay.status, headers={"Idempotent-Replayed": "true"})
        status, body = self._pay(request.match_info["id"])
        if key is not None:
            self.replays[key] = _Replay(path=request.path, status=status, body=body)
        return json_response(body, status=status)

    def _pay(self, invoice_id: str) -> tuple[int, JSON]:
        invoice = self.data.invoices.get(invoice_id)
        if invoice is None:
            return 404, billing_error(404, "resource_missing", f"No invoice {invoice_id!r}.")
        if invoice.status == "paid":
            return 409, billing_error(409, "invoice_already_paid", "Invoice is already paid.")
        if invoice.status not in PAYABLE:
            message = f"A {invoice.status} invoice cannot be paid."
            return 409, billing_error(409, "invoice_not_payable", message)
        invoice.status = "paid"
        self.upstream.answers.forget()
        self._announce("invoice.paid", invoice)
        return 200, invoice.to_json()

    def _announce(self, kind: str, invoice: Invoice) -> None:
        customer = self.data.customers[invoice.customer]
        change = {
            "id": invoice.id,
            "customer": invoice.customer,
            "org_id": customer.org_id,
            "status": invoice.status,
            "version": next_version(self.versions, invoice.id, self.clock),
        }
        self.webhooks.emit(kind, {"type": kind, "occurred_at": self.clock(), "data": change})

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(with_server(BILLING_OPENAPI, request))

    def _unauthorized(self, code: str, message: str) -> web.Response:
        return self.upstream.error(401, code, message)

    def _missing(self, param: str) -> web.Response:
        return self.upstream.error(400, "parameter_missing", f"{param} is required.")

    def _invalid(self, param: str, message: str) -> web.Response:
        return self.upstream.error(400, "parameter_invalid", f"{param}: {message}")


def _presented_key(request: web.Request) -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return key.strip()
    return request.headers.get("X-Api-Key") or request.query.get("api_key")


def create_billing_app(credentials: BillingCredentials, *, clock: Clock) -> web.Application:
    api = BillingApi(credentials, clock)
    app = upstream_app(api.upstream, middlewares=[api.authenticate])
    remembered = api.upstream.answers.remembered
    app.router.add_get("/v1/customers", remembered(api.list_customers))
    app.router.add_get("/v1/subscriptions", remembered(api.list_subscriptions))
    app.router.add_get("/v1/invoices", remembered(api.list_invoices))
    app.router.add_post("/v1/invoices/{id}/pay", api.pay_invoice)
    app.router.add_get("/openapi.json", api.openapi)
    add_webhook_routes(app, api.webhooks)
    return app


def gateway_section(base_url: str, credentials: BillingCredentials) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "max_fanout": 10,
        "auth": {"type": "api_key_hmac", "api_key": credentials.api_key, "signing_secret": credentials.signing_secret},
        "webhook": {"secret": credentials.webhook_secret},
    }


SANDBOX = SandboxUpstream(
    name="billing",
    default_port=8102,
    credentials=BillingCredentials(),
    create_app=create_billing_app,
    gateway_section=gateway_section,
    summary="customers, subscriptions, invoices (REST, API key + HMAC-signed requests)",
)
