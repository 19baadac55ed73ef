"""The projects upstream: a GitHub-like GraphQL API on `POST /graphql` behind a static token."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from sandbox.admin import upstream_app
from sandbox.answers import KeptAnswers
from sandbox.broker import BROKER_KEY, BrokerPublisher
from sandbox.graphql_documents import run_query
from sandbox.keyring import RotatingSecret
from sandbox.models import JSON, Issue, ProjectsData
from sandbox.projects_schema import SCHEMA, ProjectsContext
from sandbox.registry import SandboxUpstream
from sandbox.seed import fresh_projects
from sandbox.upstream import Clock, Upstream
from sandbox.webhooks import WebhookSender, add_webhook_routes, next_version

RATE_LIMIT_BUDGET = 5000


@dataclass(frozen=True, kw_only=True)
class ProjectsCredentials:
    token: str = field(default="sandbox-projects-token", repr=False)
    webhook_secret: str = field(default="sandbox-projects-webhooks", repr=False)
    """Signs the GitHub-style webhooks this upstream sends (``X-Hub-Signature-256``)."""


def projects_error(status: int, code: str, message: str) -> JSON:
    return {"errors": [{"message": message, "extensions": {"code": code.upper()}}]}


class ProjectsApi:
    """The GraphQL endpoint and its state; `reset` restores the seed and the rate-limit budget."""

    def __init__(self, credentials: ProjectsCredentials, clock: Clock) -> None:
        self.credentials = credentials
        self.data: ProjectsData = fresh_projects()
        self.remaining = RATE_LIMIT_BUDGET
        self.token = RotatingSecret(credentials.token, clock)
        self.clock = clock
        self.webhooks = WebhookSender("projects", "github_hmac_sha256", credentials.webhook_secret, clock=clock)
        self.versions: dict[str, int] = {}
        self.answers: KeptAnswers[bytes, tuple[bytes, int]] = KeptAnswers()
        """By the exact request body: the JSON answer without its closing brace and extensions, and
        its cost. An answer depends only on the body and the data, so it is kept until the data
        changes (a mutation that changed something, a reset)."""
        self.upstream = Upstream(
            error_body=projects_error, reset_state=self.reset, clock=clock, keyrings={"token": self.token}
        )

    def reset(self) -> None:
        self.data = fresh_projects()
        self.answers.forget()
        self.remaining = RATE_LIMIT_BUDGET
        self.webhooks.reset()

    def _announce(self, action: str, issue: Issue, broker: BrokerPublisher | None) -> None:
        """A webhook of the change and, with a broker attached, the same body as a broker message."""
        change = {
            "id": issue.id,
            "project_id": issue.project_id,
            "state": issue.state,
            "assignee_id": issue.assignee_id,
            "version": next_version(self.versions, issue.id, self.clock),
        }
        payload = {"action": action, "occurred_at": self.clock(), "issue": change}
        self.webhooks.emit(f"issue.{action}", payload)
        if broker is not None:
            broker.publish(f"projects.issue.{action}", f"msg_{uuid.uuid4().hex}", orjson.dumps(payload))

    async def graphql(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key_id = self.token.match(token.strip()) if scheme.lower() == "bearer" else None
        self.token.record(key_id)
        if key_id is None:
            return self.upstream.error(401, "unauthenticated", "Bad credentials.", {"WWW-Authenticate": "Bearer"})
        raw = await request.read()
        known = self.answers.get(raw) or self._execute(raw, request.app.get(BROKER_KEY))
        if isinstance(known, web.Response):
            return known
        answer, cost = known
        self.remaining = max(0, self.remaining - cost)
        extensions = orjson.dumps({"rateLimit": {"cost": cost, "remaining": self.remaining}})
        body = b"".join((answer, b',"extensions":', extensions, b"}"))
        return web.Response(body=body, content_type="application/json")

    def _execute(self, raw: bytes, broker: BrokerPublisher | None) -> tuple[bytes, int] | web.Response:
        """Runs the request's operation: its answer (what `answers` keeps) and cost, or a refusal."""
        body = _graphql_body(raw)
        if isinstance(body, str):
            return self.upstream.error(400, "bad_request", body)
        context = ProjectsContext(data=self.data)
        result = run_query(
            SCHEMA,
            body["query"],
            context_value=context,
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        for action, issue in context.changes:
            self._announce(action, issue, broker)
        known = orjson.dumps(result.formatted)[:-1], 1 + context.connections
        if context.changes:
            self.answers.forget()
        else:
            self.answers.keep(raw, known)
        return known


def _graphql_body(raw: bytes) -> JSON | str:
    """The parsed `{query, variables, operationName}` body, or why it is not one."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "Body must be JSON: {query, variables, operationName}."
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return "Body must be a JSON object with a string `query`."
    if not isinstance(body.get("variables") or {}, dict):
        return "`variables` must be an object."
    if not isinstance(body.get("operationName") or "", str):
        return "`operationName` must be a string."
    return body


def create_projects_app(credentials: ProjectsCredentials, *, clock: Clock) -> web.Application:
    api = ProjectsApi(credentials, clock)
    app = upstream_app(api.upstream)
    app.router.add_post("/graphql", api.graphql)
    add_webhook_routes(app, api.webhooks)
    return app


def gateway_section(base_url: str, credentials: ProjectsCredentials) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "auth": {"type": "bearer", "token": credentials.token},
        "webhook": {"secret": credentials.webhook_secret},
    }


SANDBOX = SandboxUpstream(
    name="projects",
    default_port=8103,
    credentials=ProjectsCredentials(),
    create_app=create_projects_app,
    gateway_section=gateway_section,
    summary="projects and issues (GraphQL on /graphql, static bearer token)",
)
