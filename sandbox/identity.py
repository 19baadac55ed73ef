"""The identity upstream: users and orgs over REST/JSON behind OAuth2 client-credentials tokens,
and the identity provider of the gateway's own callers (``sandbox.jwt_issuer``)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.admin import upstream_app
from sandbox.injection import is_admin
from sandbox.jwt_issuer import DISCOVERY_PATH, JWKS_PATH, JwtIssuer, SigningKeys
from sandbox.keyring import RotatingSecret
from sandbox.models import JSON, IdentityData, User
from sandbox.oauth import TokenEndpoint, TokenStore
from sandbox.openapi_common import with_server
from sandbox.openapi_identity import IDENTITY_OPENAPI
from sandbox.params import parse_digits
from sandbox.registry import SandboxUpstream
from sandbox.seed import fresh_identity, iso
from sandbox.upstream import Clock, Upstream, json_response
from sandbox.webhooks import WebhookSender, add_webhook_routes, next_version

MAX_BATCH = 100
DEFAULT_PAGE = 50
MAX_PAGE = 100
TOKEN_PATH = "/oauth/token"
_PUBLIC_PATHS = frozenset({TOKEN_PATH, JWKS_PATH, DISCOVERY_PATH})


@dataclass(frozen=True, kw_only=True)
class IdentityCredentials:
    client_id: str = "mobius-gateway"
    client_secret: str = field(default="sandbox-identity-secret", repr=False)
    token_lifetime_s: int = 3600
    audience: str | None = None
    """When set, the token endpoint requires exactly this `audience`."""
    scopes: frozenset[str] | None = None
    """When set, the token endpoint refuses a `scope` naming anything else."""
    webhook_secret: str = field(default="sandbox-identity-webhooks", repr=False)
    """Signs the GitHub-style webhooks this upstream sends (``X-Hub-Signature-256``)."""


def identity_error(status: int, code: str, message: str) -> JSON:
    return {"error": {"code": code, "message": message}}


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=50)


class IdentityApi:
    """Handlers and state of the identity upstream; `reset` restores the seed and drops tokens."""

    def __init__(self, credentials: IdentityCredentials, clock: Clock) -> None:
        self.data: IdentityData = fresh_identity()
        self.credentials = credentials
        self.tokens = TokenStore(lifetime_s=credentials.token_lifetime_s, clock=clock)
        self.client_secret = RotatingSecret(credentials.client_secret, clock)
        self.clock = clock
        self.signing_keys = SigningKeys()
        self.jwt_issuer = JwtIssuer(self.signing_keys, clock)
        self.webhooks = WebhookSender("identity", "github_hmac_sha256", credentials.webhook_secret, clock=clock)
        self.versions: dict[str, int] = {}
        self.upstream = Upstream(
            error_body=identity_error,
            reset_state=self.reset,
            exempt=frozenset({f"POST {TOKEN_PATH}", f"GET {JWKS_PATH}", f"GET {DISCOVERY_PATH}"}),
            clock=clock,
            keyrings={"client_secret": self.client_secret},
        )
        self.token_endpoint = TokenEndpoint(
            client_id=credentials.client_id,
            tokens=self.tokens,
            client_secret=self.client_secret,
            audience=credentials.audience,
            scopes=credentials.scopes,
        )

    def reset(self) -> None:
        self.data = fresh_identity()
        self.tokens.revoke_all()
        self.tokens.lifetime_s = self.credentials.token_lifetime_s
        self.signing_keys.reset()
        self.webhooks.reset()

    @web.middleware
    async def require_token(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in _PUBLIC_PATHS or is_admin(request):
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.tokens.is_valid(token.strip()):
            return self.upstream.error(
                401,
                "unauthorized",
                "A valid, unexpired bearer token is required.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return await handler(request)

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.data.users.get(request.match_info["id"])
        if user is None:
            return self._not_found("user", request.match_info["id"])
        return _user_response(user)

    async def list_users(self, request: web.Request) -> web.Response:
        ids = self._batch_ids(request)
        if isinstance(ids, web.Response):
            return ids
        users = (self.data.users.get(i) for i in ids)
        return json_response({"data": [u.to_json() for u in users if u is not None]})

    async def get_org(self, request: web.Request) -> web.Response:
        org = self.data.orgs.get(request.match_info["id"])
        if org is None:
            return self._not_found("org", request.match_info["id"])
        return json_response(org.to_json())

    async def list_orgs(self, request: web.Request) -> web.Response:
        ids = self._batch_ids(request)
        if isinstance(ids, web.Response):
            return ids
        orgs = (self.data.orgs.get(i) for i in ids)
        return json_response({"data": [o.to_json() for o in orgs if o is not None]})

    async def list_members(self, request: web.Request) -> web.Response:
        org = self.data.orgs.get(request.match_info["id"])
        if org is None:
            return self._not_found("org", request.match_info["id"])
        limit = parse_digits(request.query.get("limit", str(DEFAULT_PAGE)))
        if limit is None or not 1 <= limit <= MAX_PAGE:
            return self._bad("invalid_limit", f"limit must be an integer from 1 to {MAX_PAGE}.")
        offset = _decode_cursor(request.query.get("cursor"))
        if offset is None:
            return self._bad("invalid_cursor", "cursor is not one this API issued.")
        total = len(org.member_ids)
        page = org.member_ids[offset : offset + limit]
        end = offset + len(page)
        return json_response(
            {
                "data": [self.data.users[i].to_json() for i in page],
                "total_count": total,
                "next_cursor": _encode_cursor(end) if end < total else None,
            }
        )

    async def patch_user(self, request: web.Request) -> web.Response:
        user = self.data.users.get(request.match_info["id"])
        if user is None:
            return self._not_found("user", request.match_info["id"])
        if_match = request.headers.get("If-Match")
        if if_match is None:
            return self.upstream.error(428, "precondition_required", "PATCH requires an If-Match header with the ETag.")
        if not _etag_matches(if_match, user.etag):
            return self.upstream.error(412, "precondition_failed", "The user changed since that ETag; fetch it again.")
        try:
            patch = UserPatch.model_validate(await request.json())
        except (json.JSONDecodeError, ValidationError) as exc:
            return self._bad("invalid_request", f"Body must be {{name?, phone?}}: {exc}")
        if patch.name is not None:
            user.name = patch.name
        if patch.phone is not None:
            user.phone = patch.phone
        user.version += 1
        user.updated_at = iso(int(self.clock()))
        self.upstream.answers.forget()
        change = {"id": user.id, "org_id": user.org_id, "version": next_version(self.versions, user.id, self.clock)}
        self.webhooks.emit("user.updated", {"action": "updated", "occurred_at": self.clock(), "user": change})
        return _user_response(user)

    async def revoke_tokens(self, request: web.Request) -> web.Response:
        """Admin: revoke every issued token so that the next API call forces a refresh."""
        return json_response({"ok": True, "revoked": self.tokens.revoke_all()})

    async def set_token_lifetime(self, request: web.Request) -> web.Response:
        """Admin: tokens issued from now on live `{"seconds": n}` (until reset); issued ones keep theirs."""
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= 86_400:
            return self._bad("invalid_lifetime", 'Body must be {"seconds": <integer from 1 to 86400>}.')
        self.tokens.lifetime_s = seconds
        return json_response({"ok": True, "token_lifetime_s": seconds})

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(with_server(IDENTITY_OPENAPI, request))

    def _batch_ids(self, request: web.Request) -> list[str] | web.Response:
        ids = [i.strip() for i in request.query.get("ids", "").split(",") if i.strip()]
        if not ids:
            return self._bad("missing_ids", "ids is required: a comma-separated list.")
        if len(ids) > MAX_BATCH:
            return self._bad("too_many_ids", f"At most {MAX_BATCH} ids per request.")
        return list(dict.fromkeys(ids))

    def _not_found(self, kind: str, entity_id: str) -> web.Response:
        return self.upstream.error(404, "not_found", f"No {kind} with id {entity_id!r}.")

    def _bad(self, code: str, message: str) -> web.Response:
        return self.upstream.error(400, code, message)


def _user_response(user: User) -> web.Response:
    return json_response(user.to_json(), headers={"ETag": f'"{user.etag}"'})


def _etag_matches(header: str, etag: str) -> bool:
    candidates = {c.strip().removeprefix("W/").strip('"') for c in header.split(",")}
    return "*" in candidates or etag in candidates


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return parse_digits(value) if kind == "offset" else None


def create_identity_app(credentials: IdentityCredentials, *, clock: Clock) -> web.Application:
    api = IdentityApi(credentials, clock)
    app = upstream_app(api.upstream, middlewares=[api.require_token])
    remembered = api.upstream.answers.remembered
    app.router.add_post(TOKEN_PATH, api.token_endpoint.handle)
    app.router.add_get("/v1/users", remembered(api.list_users))
    app.router.add_get("/v1/users/{id}", remembered(api.get_user))
    app.router.add_patch("/v1/users/{id}", api.patch_user)
    app.router.add_get("/v1/orgs", remembered(api.list_orgs))
    app.router.add_get("/v1/orgs/{id}", remembered(api.get_org))
    app.router.add_get("/v1/orgs/{id}/members", remembered(api.list_members))
    app.router.add_post("/_sandbox/revoke-tokens", api.revoke_tokens)
    app.router.add_post("/_sandbox/token-lifetime", api.set_token_lifetime)
    app.router.add_get(JWKS_PATH, api.jwt_issuer.jwks)
    app.router.add_get(DISCOVERY_PATH, api.jwt_issuer.discovery)
    app.router.add_post("/_sandbox/tokens", api.jwt_issuer.issue)
    app.router.add_post("/_sandbox/rotate-signing-key", api.jwt_issuer.rotate)
    app.router.add_get("/openapi.json", api.openapi)
    add_webhook_routes(app, api.webhooks)
    return app


def gateway_section(base_url: str, credentials: IdentityCredentials) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": TOKEN_PATH,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
        "webhook": {"secret": credentials.webhook_secret},
    }


SANDBOX = SandboxUpstream(
    name="identity",
    default_port=8101,
    credentials=IdentityCredentials(),
    create_app=create_identity_app,
    gateway_section=gateway_section,
    summary="users and organizations (REST, OAuth2 client credentials)",
    auth_routes=frozenset({f"POST {TOKEN_PATH}", f"GET {JWKS_PATH}", f"GET {DISCOVERY_PATH}"}),
)
