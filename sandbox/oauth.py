"""OAuth2 client-credentials for the identity upstream: the token endpoint and the token store."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import web

from sandbox.basic_auth import basic_credentials
from sandbox.keyring import RotatingSecret
from sandbox.upstream import Clock, json_response

_PURGE_THRESHOLD = 10_000


@dataclass(slots=True)
class TokenStore:
    """Issued bearer tokens and their expiry (wall-clock seconds)."""

    lifetime_s: int
    clock: Clock
    _expiry: dict[str, float] = field(default_factory=dict)

    def issue(self) -> str:
        if len(self._expiry) >= _PURGE_THRESHOLD:
            now = self.clock()
            self._expiry = {t: exp for t, exp in self._expiry.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self._expiry[token] = self.clock() + self.lifetime_s
        return token

    def is_valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and expiry > self.clock()

    def revoke_all(self) -> int:
        """Forget every token, so the next API call gets a 401 and the client must refresh."""
        count = len(self._expiry)
        self._expiry.clear()
        return count


def _client_from_basic(header: str) -> tuple[str, str] | None:
    """Client id and secret from `client_secret_basic` (each form-urlencoded first, RFC 6749 2.3.1)."""
    pair = basic_credentials(header)
    return None if pair is None else (unquote(pair[0]), unquote(pair[1]))


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="identity"'
    return json_response({"error": error, "error_description": description}, status=status, headers=headers)


@dataclass(frozen=True, slots=True)
class TokenEndpoint:
    """`POST /oauth/token` (client_secret_basic or client_secret_post)."""

    client_id: str
    tokens: TokenStore
    client_secret: RotatingSecret
    audience: str | None = None
    """When set, a token request must name exactly this `audience`."""
    scopes: frozenset[str] | None = None
    """When set, a token request naming any other scope is refused."""

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        header = request.headers.get("Authorization")
        client = _client_from_basic(header) if header else None
        if client is None and not header:
            client_id, secret = form.get("client_id"), form.get("client_secret")
            if isinstance(client_id, str) and isinstance(secret, str):
                client = (client_id, secret)
        if client is None or not self._authentic(*client):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        grant = form.get("grant_type")
        if not grant:
            return _oauth_error(400, "invalid_request", "grant_type is required.")
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Only client_credentials.")
        scope = form.get("scope")
        problem = self._grant_problem(scope, form.get("audience"))
        if problem is not None:
            return _oauth_error(400, *problem)
        return json_response(
            {
                "access_token": self.tokens.issue(),
                "token_type": "Bearer",
                "expires_in": self.tokens.lifetime_s,
                "scope": scope if isinstance(scope, str) else "",
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _authentic(self, client_id: str, secret: str) -> bool:
        expected_id = self.client_id
        id_ok = hmac.compare_digest(client_id.encode(), expected_id.encode())
        key_id = self.client_secret.match(secret)
        self.client_secret.record(key_id if id_ok else None)
        return id_ok and key_id is not None

    def _grant_problem(self, scope: object, audience: object) -> tuple[str, str] | None:
        """Why the requested scope or audience cannot be granted (when the sandbox restricts them)."""
        required = self.audience
        if required is not None and audience != required:
            return "invalid_target", "The audience is missing or not served here."
        allowed = self.scopes
        requested = set(scope.split()) if isinstance(scope, str) else set()
        if allowed is not None and not requested <= allowed:
            return "invalid_scope", "A requested scope is not granted to this client."
        return None
