"""OpenAPI 3.1 description of the billing upstream (served at `GET /openapi.json`)."""

from __future__ import annotations

from sandbox.openapi_common import Doc, errors, json_response, nullable, obj, param, ref

_STR = {"type": "string"}
_INT = {"type": "integer"}
_UNIX = {"type": "integer", "description": "Unix seconds."}
_CUSTOMER = param("customer", "query", _STR, "Customer id, e.g. cus_1.", required=True)
_RATE_HEADERS = {
    "Retry-After": {"schema": _INT},
    "RateLimit": {"schema": _STR},
    "RateLimit-Policy": {"schema": _STR},
}


def _list_of(item: str) -> Doc:
    return obj(
        {
            "object": {"const": "list"},
            "data": {"type": "array", "items": ref(item)},
            "has_more": {"type": "boolean"},
        }
    )


def _rate_limited() -> Doc:
    return {"429": json_response("Rate limited.", ref("Error"), _RATE_HEADERS)}


BILLING_OPENAPI: Doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "Mobius billing (sandbox)",
        "version": "1.0.0",
        "description": (
            "Stripe-like billing. Every request carries the API key as a bearer token and "
            "`Mobius-Signature: t=<unix>,v1=<hex>`, the HMAC-SHA256 (signing secret) of "
            "`t.METHOD.path_with_query.sha256_hex(body)`; signatures older than 300 s are rejected."
        ),
    },
    "security": [{"apiKey": [], "signature": []}],
    "paths": {
        "/v1/customers": {
            "get": {
                "operationId": "listCustomers",
                "parameters": [param("org_id", "query", _STR, "Org id.", required=True)],
                "responses": {
                    "200": json_response("The org's customer.", _list_of("Customer")),
                    **errors("Error", 400, 401),
                    **_rate_limited(),
                },
            }
        },
        "/v1/subscriptions": {
            "get": {
                "operationId": "listSubscriptions",
                "parameters": [_CUSTOMER],
                "responses": {
                    "200": json_response("The customer's subscriptions.", _list_of("Subscription")),
                    **errors("Error", 400, 401),
                    **_rate_limited(),
                },
            }
        },
        "/v1/invoices": {
            "get": {
                "operationId": "listInvoices",
                "summary": "A customer's invoices, newest first.",
                "parameters": [
                    _CUSTOMER,
                    param("status", "query", ref("InvoiceStatus"), "Only this status."),
                    param(
                        "limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, "Page size."
                    ),
                    param("starting_after", "query", _STR, "Invoice id to continue after."),
                ],
                "responses": {
                    "200": json_response("A page of invoices.", _list_of("Invoice")),
                    **errors("Error", 400, 401),
                    **_rate_limited(),
                },
            }
        },
        "/v1/invoices/{id}/pay": {
            "post": {
                "operationId": "payInvoice",
                "parameters": [
                    param("id", "path", _STR, "Invoice id."),
                    param("Idempotency-Key", "header", _STR, "Same key -> same response."),
                ],
                "responses": {
                    "200": json_response("The paid invoice.", ref("Invoice")),
                    **errors("Error", 401, 404, 409),
                    **_rate_limited(),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer"},
            "signature": {"type": "apiKey", "in": "header", "name": "Mobius-Signature"},
        },
        "schemas": {
            "Customer": obj(
                {
                    "id": _STR,
                    "object": {"const": "customer"},
                    "org_id": _STR,
                    "name": _STR,
                    "email": _STR,
                    "created": _UNIX,
                }
            ),
            "Subscription": obj(
                {
                    "id": _STR,
                    "object": {"const": "subscription"},
                    "customer": _STR,
                    "plan": {"enum": ["starter", "team", "business", "enterprise"]},
                    "status": {"enum": ["active", "trialing", "past_due", "canceled"]},
                    "seats": _INT,
                    "current_period_end": _UNIX,
                }
            ),
            "InvoiceStatus": {"enum": ["draft", "open", "paid", "void", "uncollectible"]},
            "Invoice": obj(
                {
                    "id": _STR,
                    "object": {"const": "invoice"},
                    "number": _STR,
                    "customer": _STR,
                    "amount_due": {"type": "integer", "description": "Minor currency units."},
                    "currency": {"enum": ["usd", "eur"]},
                    "status": ref("InvoiceStatus"),
                    "due_date": nullable(_UNIX),
                    "created": _UNIX,
                }
            ),
            "Error": obj({"error": obj({"type": _STR, "code": _STR, "message": _STR}, required=["type", "message"])}),
        },
    },
}
