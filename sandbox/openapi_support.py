"""OpenAPI 3.1 description of the support upstream (served at `GET /openapi.json`)."""

from __future__ import annotations

from sandbox.openapi_common import Doc, errors, json_response, nullable, obj, param, ref

_STR = {"type": "string"}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_TICKET_ID = param("id", "path", _INT, "Ticket id.")
_RATE_HEADERS = {
    "X-Rate-Limit": {"schema": _INT, "description": "Requests the account may make per window."},
    "X-Rate-Limit-Remaining": {"schema": _INT, "description": "Requests left in the current window."},
}


def _answer(description: str, schema: Doc) -> Doc:
    return json_response(description, schema, _RATE_HEADERS)


def _limited() -> Doc:
    headers = {**_RATE_HEADERS, "Retry-After": {"schema": _INT, "description": "Seconds until the window resets."}}
    return {"429": json_response("The account's request limit is exhausted.", ref("Error"), headers)}


SUPPORT_OPENAPI: Doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "Mobius support (sandbox)",
        "version": "2.0.0",
        "description": (
            "Helpdesk tickets. HTTP Basic with `<agent email>/token` as the user name and the API token as "
            "the password. Every answer carries X-Rate-Limit-Remaining; past the account's limit the answer "
            "is 429 with Retry-After."
        ),
    },
    "security": [{"basic": []}],
    "paths": {
        "/api/v2/organizations/{org_id}/tickets": {
            "get": {
                "operationId": "listOrganizationTickets",
                "summary": "An organization's tickets in cursor pages, oldest first.",
                "parameters": [
                    param("org_id", "path", _STR, "Organization id (the identity upstream's)."),
                    param(
                        "page[size]",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
                        "Page size.",
                    ),
                    param("page[after]", "query", _STR, "Cursor from meta.after_cursor."),
                ],
                "responses": {
                    "200": _answer("A page of tickets.", ref("TicketPage")),
                    **errors("Error", 400, 401, 404),
                    **_limited(),
                },
            }
        },
        "/api/v2/tickets/show_many": {
            "get": {
                "operationId": "showManyTickets",
                "summary": "Tickets by id (batch); ids that name no ticket are absent.",
                "parameters": [param("ids", "query", _STR, "Comma-separated ticket ids, at most 100.", required=True)],
                "responses": {
                    "200": _answer("Found tickets.", obj({"tickets": {"type": "array", "items": ref("Ticket")}})),
                    **errors("Error", 400, 401),
                    **_limited(),
                },
            }
        },
        "/api/v2/tickets/{id}": {
            "get": {
                "operationId": "showTicket",
                "parameters": [_TICKET_ID],
                "responses": {
                    "200": _answer("The ticket.", obj({"ticket": ref("Ticket")})),
                    **errors("Error", 401, 404),
                    **_limited(),
                },
            },
            "put": {
                "operationId": "updateTicket",
                "summary": "Change a ticket's subject, status or priority (a closed ticket cannot change).",
                "parameters": [_TICKET_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": obj({"ticket": ref("TicketChange")})}},
                },
                "responses": {
                    "200": _answer("The changed ticket.", obj({"ticket": ref("Ticket")})),
                    **errors("Error", 400, 401, 404, 422),
                    **_limited(),
                },
            },
        },
    },
    "components": {
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        "schemas": {
            "TicketStatus": {"enum": ["new", "open", "pending", "solved", "closed"]},
            "TicketPriority": {"enum": ["low", "normal", "high", "urgent"]},
            "Ticket": obj(
                {
                    "id": _INT,
                    "subject": _STR,
                    "description": _STR,
                    "status": ref("TicketStatus"),
                    "priority": ref("TicketPriority"),
                    "requester_id": {"type": "string", "description": "A user id of the identity upstream."},
                    "organization_id": {"type": "string", "description": "An org id of the identity upstream."},
                    "created_at": _TIME,
                    "updated_at": _TIME,
                }
            ),
            "TicketChange": obj(
                {"subject": _STR, "status": ref("TicketStatus"), "priority": ref("TicketPriority")}, required=[]
            ),
            "TicketPage": obj(
                {
                    "tickets": {"type": "array", "items": ref("Ticket")},
                    "meta": obj({"has_more": {"type": "boolean"}, "after_cursor": nullable(_STR)}),
                    "links": obj({"next": nullable({"type": "string", "format": "uri"})}),
                }
            ),
            "Error": obj({"error": _STR, "description": _STR}),
        },
    },
}
