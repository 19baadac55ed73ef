"""OpenAPI 3.1 description of the ledger upstream (served at `GET /openapi.json`)."""

from __future__ import annotations

from sandbox.ledger_data import INVOICE_STATUSES, SUBSCRIPTION_STATUSES
from sandbox.openapi_common import Doc, errors, json_response, nullable, obj, param, ref

_STR = {"type": "string"}
_INT = {"type": "integer"}
_UNIX = {"type": "integer", "description": "Unix seconds."}
_MINOR = {"type": "integer", "description": "Minor currency units (cents)."}
_PAGING = [
    param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, "Page size."),
    param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "Where to continue: next_offset."),
]
_CUSTOMER_ID = param("customer_id[is]", "query", _STR, "Only this customer's.")


def _list_of(kind: str, schema: str) -> Doc:
    return obj(
        {
            "list": {"type": "array", "items": obj({kind: ref(schema)})},
            "next_offset": {"type": "string", "description": "Present while more records follow: the next offset."},
        },
        required=["list"],
    )


def _listing(operation: str, summary: str, kind: str, schema: str, filters: list[Doc]) -> Doc:
    return {
        "get": {
            "operationId": operation,
            "summary": summary,
            "parameters": [*filters, *_PAGING],
            "responses": {
                "200": json_response(f"A page of {kind}s.", _list_of(kind, schema)),
                **errors("Error", 400, 401, 429),
            },
        }
    }


LEDGER_OPENAPI: Doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "Mobius ledger (sandbox)",
        "version": "2.0.0",
        "description": (
            "A subscription-billing vendor over the same accounts as billing. HTTP Basic with the API key as "
            "the user name and an empty password. Lists take limit/offset and filters written "
            '`field[is]=value` or `field[in]=["a","b"]`; an unknown parameter is a 400. Amounts are minor '
            "units with `currency_code`."
        ),
    },
    "security": [{"basic": []}],
    "paths": {
        "/api/v2/customers": _listing(
            "listCustomers",
            "Customers, optionally of one organization.",
            "customer",
            "Customer",
            [param("org_id[is]", "query", _STR, "Only the customer of this organization.")],
        ),
        "/api/v2/subscriptions": _listing(
            "listSubscriptions",
            "Subscriptions, optionally of one customer or status.",
            "subscription",
            "Subscription",
            [_CUSTOMER_ID, param("status[is]", "query", ref("SubscriptionStatus"), "Only this status.")],
        ),
        "/api/v2/invoices": _listing(
            "listInvoices",
            "Invoices, newest first per customer.",
            "invoice",
            "Invoice",
            [
                _CUSTOMER_ID,
                param("status[is]", "query", ref("InvoiceStatus"), "Only this status."),
                param("status[in]", "query", _STR, 'Only these statuses, a JSON array: ["posted","payment_due"].'),
            ],
        ),
        "/api/v2/invoices/{id}/collect_payment": {
            "post": {
                "operationId": "collectPayment",
                "summary": "Collect a posted or due invoice now.",
                "parameters": [
                    param("id", "path", _STR, "Invoice id."),
                    param("Ledger-Idempotency-Key", "header", _STR, "The same key answers the same, collecting once."),
                ],
                "responses": {
                    "200": json_response(
                        "The paid invoice and its transaction.",
                        obj({"invoice": ref("Invoice"), "transaction": ref("Transaction")}),
                    ),
                    **errors("Error", 400, 401, 404, 409, 429),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        "schemas": {
            "Customer": obj(
                {
                    "id": _STR,
                    "object": {"const": "customer"},
                    "org_id": _STR,
                    "company": _STR,
                    "email": _STR,
                    "auto_collection": {"enum": ["on", "off"]},
                    "net_term_days": _INT,
                    "preferred_currency_code": nullable(_STR),
                    "created_at": _UNIX,
                }
            ),
            "SubscriptionStatus": {"enum": list(SUBSCRIPTION_STATUSES)},
            "Subscription": obj(
                {
                    "id": _STR,
                    "object": {"const": "subscription"},
                    "customer_id": _STR,
                    "plan_id": _STR,
                    "plan_quantity": {"type": "integer", "description": "Seats."},
                    "status": ref("SubscriptionStatus"),
                    "current_term_end": _UNIX,
                    "due_since": nullable({**_UNIX, "description": "Set while invoices are overdue (Unix seconds)."}),
                }
            ),
            "InvoiceStatus": {"enum": list(INVOICE_STATUSES)},
            "Invoice": obj(
                {
                    "id": _STR,
                    "object": {"const": "invoice"},
                    "invoice_number": _STR,
                    "customer_id": _STR,
                    "subscription_id": nullable(_STR),
                    "status": ref("InvoiceStatus"),
                    "date": _UNIX,
                    "due_date": nullable(_UNIX),
                    "total": _MINOR,
                    "amount_paid": _MINOR,
                    "amount_due": {**_MINOR, "description": "Still owed (minor units): 0 once paid or voided."},
                    "currency_code": {"enum": ["USD", "EUR"]},
                    "paid_at": nullable(_UNIX),
                }
            ),
            "Transaction": obj(
                {
                    "id": _STR,
                    "object": {"const": "transaction"},
                    "customer_id": _STR,
                    "type": {"const": "payment"},
                    "status": {"enum": ["success", "failure"]},
                    "amount": _MINOR,
                    "currency_code": _STR,
                    "date": _UNIX,
                }
            ),
            "Error": obj(
                {
                    "message": _STR,
                    "type": _STR,
                    "api_error_code": _STR,
                    "error_code": _STR,
                    "error_msg": _STR,
                    "http_status_code": _INT,
                },
                required=["message", "api_error_code", "http_status_code"],
            ),
        },
    },
}
