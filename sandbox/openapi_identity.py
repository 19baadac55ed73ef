"""OpenAPI 3.1 description of the identity upstream (served at `GET /openapi.json`)."""

from __future__ import annotations

from sandbox.openapi_common import Doc, errors, json_response, nullable, obj, param, ref

_STR = {"type": "string"}
_IDS = param("ids", "query", _STR, "Comma-separated ids, at most 100.", required=True)
_ID = param("id", "path", _STR, "Entity id.")
_ETAG_HEADER = {"ETag": {"schema": _STR, "description": "Quoted entity tag of the user."}}

IDENTITY_OPENAPI: Doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "Mobius identity (sandbox)",
        "version": "1.0.0",
        "description": "Users and organizations. Batch reads return found ids in request order.",
    },
    "security": [{"oauth2": []}],
    "paths": {
        "/v1/users": {
            "get": {
                "operationId": "getUsers",
                "summary": "Users by id (batch).",
                "parameters": [_IDS],
                "responses": {
                    "200": json_response("Found users.", obj({"data": {"type": "array", "items": ref("User")}})),
                    **errors("Error", 400, 401),
                },
            }
        },
        "/v1/users/{id}": {
            "get": {
                "operationId": "getUser",
                "parameters": [_ID],
                "responses": {
                    "200": json_response("The user.", ref("User"), _ETAG_HEADER),
                    **errors("Error", 401, 404),
                },
            },
            "patch": {
                "operationId": "updateUser",
                "parameters": [
                    _ID,
                    param("If-Match", "header", _STR, "ETag from a previous read.", required=True),
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("UserPatch")}},
                },
                "responses": {
                    "200": json_response("The updated user.", ref("User"), _ETAG_HEADER),
                    **errors("Error", 400, 401, 404, 412, 428),
                },
            },
        },
        "/v1/orgs": {
            "get": {
                "operationId": "getOrgs",
                "summary": "Organizations by id (batch).",
                "parameters": [_IDS],
                "responses": {
                    "200": json_response("Found orgs.", obj({"data": {"type": "array", "items": ref("Org")}})),
                    **errors("Error", 400, 401),
                },
            }
        },
        "/v1/orgs/{id}": {
            "get": {
                "operationId": "getOrg",
                "parameters": [_ID],
                "responses": {
                    "200": json_response("The org.", ref("Org")),
                    **errors("Error", 401, 404),
                },
            }
        },
        "/v1/orgs/{id}/members": {
            "get": {
                "operationId": "getOrgMembers",
                "summary": "Members ordered by numeric user id.",
                "parameters": [
                    _ID,
                    param(
                        "limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "Page size."
                    ),
                    param("cursor", "query", _STR, "Opaque cursor from next_cursor."),
                ],
                "responses": {
                    "200": json_response("A page of members.", ref("MembersPage")),
                    **errors("Error", 400, 401, 404),
                },
            }
        },
        "/oauth/token": {
            "post": {
                "operationId": "issueToken",
                "security": [{"clientBasic": []}, {}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": obj(
                                {
                                    "grant_type": {"const": "client_credentials"},
                                    "scope": _STR,
                                    "client_id": _STR,
                                    "client_secret": _STR,
                                },
                                required=["grant_type"],
                            )
                        }
                    },
                },
                "responses": {
                    "200": json_response("An access token.", ref("Token")),
                    "400": json_response("Bad grant.", ref("OAuthError")),
                    "401": json_response("Bad client.", ref("OAuthError")),
                },
            }
        },
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "getSigningKeys",
                "summary": "The public keys that verify the JWTs this provider signs for the gateway's callers.",
                "security": [],
                "responses": {"200": json_response("A JSON Web Key Set.", ref("JsonWebKeySet"))},
            }
        },
        "/.well-known/openid-configuration": {
            "get": {
                "operationId": "getProviderConfiguration",
                "summary": "Discovery: the issuer of those JWTs and where its keys are.",
                "security": [],
                "responses": {
                    "200": json_response(
                        "Provider metadata.",
                        obj(
                            {
                                "issuer": _STR,
                                "jwks_uri": {"type": "string", "format": "uri"},
                                "id_token_signing_alg_values_supported": {"type": "array", "items": _STR},
                                "subject_types_supported": {"type": "array", "items": _STR},
                            }
                        ),
                    )
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "oauth2": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
            },
            "clientBasic": {"type": "http", "scheme": "basic"},
        },
        "schemas": {
            "JsonWebKeySet": obj(
                {
                    "keys": {
                        "type": "array",
                        "items": obj({"kty": _STR, "kid": _STR, "use": _STR, "alg": _STR, "n": _STR, "e": _STR}),
                    }
                }
            ),
            "User": obj(
                {
                    "id": _STR,
                    "org_id": _STR,
                    "name": _STR,
                    "email": {"type": "string", "format": "email", "description": "PII."},
                    "phone": {"type": "string", "description": "PII."},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "etag": _STR,
                }
            ),
            "UserPatch": obj({"name": _STR, "phone": _STR}, required=[]),
            "Org": obj(
                {
                    "id": _STR,
                    "name": _STR,
                    "slug": _STR,
                    "member_count": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                }
            ),
            "MembersPage": obj(
                {
                    "data": {"type": "array", "items": ref("User")},
                    "total_count": {"type": "integer"},
                    "next_cursor": nullable(_STR),
                }
            ),
            "Token": obj(
                {
                    "access_token": _STR,
                    "token_type": {"const": "Bearer"},
                    "expires_in": {"type": "integer"},
                    "scope": _STR,
                }
            ),
            "OAuthError": obj({"error": _STR, "error_description": _STR}, required=["error"]),
            "Error": obj({"error": obj({"code": _STR, "message": _STR})}),
        },
    },
}
