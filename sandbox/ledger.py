"""The ledger upstream: a second billing vendor (subscription-billing style) over the same seeded accounts.

HTTP Basic with the API key as the user name (the password is ignored; send it empty). Lists
take `limit`/`offset` and filters written `field[operator]=value` (`customer_id[is]=`,
`status[in]=["posted","payment_due"]`); a parameter the route does not know is a 400, so a
misspelt filter never lists every account. Payment is `POST .../collect_payment` with
`Ledger-Idempotency-Key`. The records and how they map to billing's are in `ledger_data`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiMapping

from sandbox.admin import upstream_app
from sandbox.basic_auth import basic_credentials
from sandbox.injection import is_admin
from sandbox.keyring import RotatingSecret
from sandbox.ledger_data import COLLECTABLE, INVOICE_STATUSES, SUBSCRIPTION_STATUSES, LedgerData, fresh_ledger
from sandbox.models import JSON
from sandbox.openapi_common import with_server
from sandbox.openapi_ledger import LEDGER_OPENAPI
from sandbox.params import parse_digits
from sandbox.registry import SandboxUpstream
from sandbox.upstream import Clock, Upstream, json_response

IDEMPOTENCY_HEADER = "Ledger-Idempotency-Key"
REPLAYED_HEADER = "Ledger-Idempotency-Replayed"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
PAGING = frozenset({"limit", "offset"})
MAX_KEY_CHARS = 255
MAX_LIST_FILTER_CHARS = 512


@dataclass(frozen=True, kw_only=True)
class LedgerCredentials:
    api_key: str = field(default="ledger_sandbox_mobius", repr=False)


def ledger_error(status: int, code: str, message: str) -> JSON:
    body: JSON = {
        "message": message,
        "api_error_code": code,
        "error_code": code,
        "error_msg": message,
        "http_status_code": status,
    }
    if status in {400, 404, 409}:
        body["type"] = "invalid_request"
    return body


@dataclass(frozen=True, slots=True)
class _Replay:
    path: str
    status: int
    body: JSON


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LedgerApi:
    """Handlers and state of the ledger upstream; `reset` restores the seed and idempotency keys."""

    def __init__(self, credentials: LedgerCredentials, clock: Clock) -> None:
        self.clock = clock
        self.data: LedgerData = fresh_ledger()
        self.replays: dict[str, _Replay] = {}
        self.transactions = 0
        self.api_key = RotatingSecret(credentials.api_key, clock)
        self.upstream = Upstream(
            error_body=ledger_error, reset_state=self.reset, clock=clock, keyrings={"api_key": self.api_key}
        )

    def reset(self) -> None:
        self.data = fresh_ledger()
        self.replays.clear()
        self.transactions = 0

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """HTTP Basic: the API key is the user name; the password is not looked at."""
        if is_admin(request):
            return await handler(request)
        pair = basic_credentials(request.headers.get("Authorization", ""))
        key_id = self.api_key.match(pair[0]) if pair is not None else None
        self.api_key.record(key_id)
        if key_id is None:
            return self.upstream.error(
                401,
                "api_authentication_failed",
                "Sorry, authentication failed. Invalid api key.",
                {"WWW-Authenticate": 'Basic realm="ledger"'},
            )
        return await handler(request)

    async def list_customers(self, request: web.Request) -> web.Response:
        org_id = request.query.get("org_id[is]")
        customers = self.data.customers.values() if org_id is None else self.data.customers_of(org_id)
        return self._list(request, "customer", customers, _CUSTOMER_FILTERS)

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        customer_id = request.query.get("customer_id[is]")
        subscriptions = (
            self.data.subscriptions.values() if customer_id is None else self.data.subscriptions_of(customer_id)
        )
        return self._list(request, "subscription", subscriptions, _SUBSCRIPTION_FILTERS)

    async def list_invoices(self, request: web.Request) -> web.Response:
        """Invoices newest first per customer (every customer's when not filtered)."""
        customer_id = request.query.get("customer_id[is]")
        invoices = self.data.invoices.values() if customer_id is None else self.data.invoices_of(customer_id)
        return self._list(request, "invoice", invoices, _INVOICE_FILTERS)

    async def collect_payment(self, request: web.Request) -> web.Response:
        """Collect a posted or due invoice; a repeated idempotency key replays the first answer verbatim."""
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None:
            if not key or len(key) > MAX_KEY_CHARS:
                return self._invalid("invalid_request", f"{IDEMPOTENCY_HEADER} must have 1 to {MAX_KEY_CHARS} chars.")
            replay = self.replays.get(key)
            if replay is not None:
                if replay.path != request.path:
                    return self._invalid("invalid_request", "The idempotency key was used for another request.")
                return json_response(replay.body, status=replay.status, headers={REPLAYED_HEADER: "true"})
        status, body = self._collect(request.match_info["id"])
        if key is not None:
            self.replays[key] = _Replay(path=request.path, status=status, body=body)
        return json_response(body, status=status)

    def _collect(self, invoice_id: str) -> tuple[int, JSON]:
        invoice = self.data.invoices.get(invoice_id)
        if invoice is None:
            return 404, ledger_error(404, "resource_not_found", f"Sorry, we couldn't find that invoice {invoice_id!r}.")
        if invoice.status not in COLLECTABLE:
            message = f"The invoice is {invoice.status}; only {', '.join(sorted(COLLECTABLE))} invoices are collected."
            return 409, ledger_error(409, "invalid_state_for_request", message)
        now = int(self.clock())
        amount = invoice.amount_due
        invoice.status, invoice.amount_paid, invoice.paid_at = "paid", invoice.total, now
        self.upstream.answers.forget()
        self.transactions += 1
        transaction = {
            "id": f"txn_{self.transactions}",
            "object": "transaction",
            "customer_id": invoice.customer_id,
            "type": "payment",
            "status": "success",
            "amount": amount,
            "currency_code": invoice.currency_code,
            "date": now,
        }
        return 200, {"invoice": invoice.to_json(), "transaction": transaction}

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(with_server(LEDGER_OPENAPI, request))

    def _list(
        self, request: web.Request, kind: str, records: Iterable[_Record], filters: Mapping[str, _Filter]
    ) -> web.Response:
        """A page of `records` (already narrowed by an index where the query allows) that pass `filters`."""
        try:
            query = _read_query(request.query, filters)
        except _Refused as refused:
            return self._invalid(refused.code, refused.message)
        matching = [r for r in records if all(getattr(r, attr) in values for attr, values in query.conditions)]
        page = matching[query.offset : query.offset + query.limit]
        body: JSON = {"list": [{kind: record.to_json()} for record in page]}
        end = query.offset + len(page)
        if end < len(matching):
            body["next_offset"] = str(end)
        return json_response(body)

    def _invalid(self, code: str, message: str) -> web.Response:
        return self.upstream.error(400, code, message)


class _Record(Protocol):
    def to_json(self) -> JSON: ...


@dataclass(frozen=True, slots=True)
class _Filter:
    """A list parameter `<attribute>[is]=value` (or `[in]=["a","b"]` when `many`)."""

    attribute: str
    words: tuple[str, ...] | None = None
    """The values it accepts, when the attribute has a fixed vocabulary."""
    many: bool = False

    def values(self, name: str, raw: str) -> frozenset[str]:
        wanted = _json_list(name, raw) if self.many else [raw]
        unknown = sorted(set(wanted) - set(self.words or wanted))
        if unknown:
            raise _Refused("param_wrong_value", f"{name}: unknown {unknown}; it takes: {', '.join(self.words or ())}.")
        return frozenset(wanted)


def _json_list(name: str, raw: str) -> list[str]:
    """`["posted","payment_due"]`, length-capped before parsing."""
    parsed = None
    if len(raw) <= MAX_LIST_FILTER_CHARS:
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
    if not isinstance(parsed, list) or not parsed or not all(isinstance(word, str) for word in parsed):
        message = f'{name} must be a JSON array of at most {MAX_LIST_FILTER_CHARS} characters, e.g. ["paid","posted"].'
        raise _Refused("param_wrong_value", message)
    return parsed


_CUSTOMER_FILTERS = {"org_id[is]": _Filter("org_id")}
_SUBSCRIPTION_FILTERS = {
    "customer_id[is]": _Filter("customer_id"),
    "status[is]": _Filter("status", SUBSCRIPTION_STATUSES),
}
_INVOICE_FILTERS = {
    "customer_id[is]": _Filter("customer_id"),
    "status[is]": _Filter("status", INVOICE_STATUSES),
    "status[in]": _Filter("status", INVOICE_STATUSES, many=True),
}


@dataclass(frozen=True, slots=True)
class _Query:
    conditions: tuple[tuple[str, frozenset[str]], ...]
    """(attribute, accepted values) pairs a listed record must all meet."""
    limit: int
    offset: int


def _read_query(query: MultiMapping[str], filters: Mapping[str, _Filter]) -> _Query:
    unknown = sorted(set(query) - set(filters) - PAGING)
    if unknown:
        known = ", ".join(sorted({*filters, *PAGING}))
        raise _Refused("param_not_supported", f"Unknown parameters {unknown}; this list takes: {known}.")
    if len(query) != len(set(query)):
        raise _Refused("param_wrong_value", "Give each parameter once.")
    if "status[is]" in query and "status[in]" in query:
        raise _Refused("param_wrong_value", "Give status[is] or status[in], not both.")
    limit = parse_digits(query.get("limit", str(DEFAULT_LIMIT)))
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise _Refused("param_wrong_value", f"limit must be an integer from 1 to {MAX_LIMIT}.")
    offset = parse_digits(query.get("offset", "0"))
    if offset is None:
        raise _Refused("param_wrong_value", "offset must be a non-negative integer, as next_offset gave it.")
    conditions = tuple((f.attribute, f.values(name, query[name])) for name, f in filters.items() if name in query)
    return _Query(conditions=conditions, limit=limit, offset=offset)


def create_ledger_app(credentials: LedgerCredentials, *, clock: Clock) -> web.Application:
    api = LedgerApi(credentials, clock)
    app = upstream_app(api.upstream, middlewares=[api.authenticate])
    remembered = api.upstream.answers.remembered
    app.router.add_get("/api/v2/customers", remembered(api.list_customers))
    app.router.add_get("/api/v2/subscriptions", remembered(api.list_subscriptions))
    app.router.add_get("/api/v2/invoices", remembered(api.list_invoices))
    app.router.add_post("/api/v2/invoices/{id}/collect_payment", api.collect_payment)
    app.router.add_get("/openapi.json", api.openapi)
    return app


def gateway_section(base_url: str, credentials: LedgerCredentials) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "max_fanout": 10,
        "auth": {"type": "basic", "username": credentials.api_key, "password": ""},
    }


SANDBOX = SandboxUpstream(
    name="ledger",
    default_port=8105,
    credentials=LedgerCredentials(),
    create_app=create_ledger_app,
    gateway_section=gateway_section,
    slot="billing",
    summary="a second billing vendor over the same accounts (REST, HTTP Basic API key, offset pages)",
)
