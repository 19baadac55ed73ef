"""The floor of the machine: two minimal ASGI apps served by uvicorn with Mobius's server settings.

`floor-bytes` answers each known request body with its pre-built response bytes. `floor-io` also
makes the dashboard's upstream requests first, with Mobius's plan (organization, members page,
billing customer and projects page with the nested issue pages at once; then subscription,
invoices and the owners and assignees missing from the members page in one batch) and Mobius's
upstream auth (OAuth2 client-credentials bearer, API key plus HMAC signature, bearer token), through
aiohttp; it decodes only the upstream answers the second level needs. Neither imports the gateway:
they measure the server, the event loop and the HTTP client, not our code.

`python -m bench.floor bytes|io --config FILE --port P --workers N`; the bench writes FILE
(`FloorConfig`) from Mobius's own answers.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvicorn
from yarl import URL

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CONFIG_ENV = "BENCH_FLOOR_CONFIG"
UNKNOWN = b'{"errors":[{"message":"floor: unknown request body"}]}'
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ISSUE_PAGE = "totalCount pageInfo { hasNextPage endCursor } nodes { id title state assigneeId }"


@dataclass(frozen=True, slots=True)
class DashboardPlan:
    """The page sizes of one dashboard query: what its upstream requests ask for."""

    org_id: str
    members: int
    projects: int
    issues: int
    invoices: int


@dataclass(frozen=True, slots=True)
class Credentials:
    identity_client_id: str
    identity_client_secret: str
    billing_api_key: str
    billing_signing_secret: str
    projects_token: str


@dataclass(frozen=True, slots=True)
class Answer:
    response: bytes
    plan: DashboardPlan | None


@dataclass(frozen=True, slots=True)
class FloorConfig:
    answers: dict[bytes, Answer]
    """By the exact request body."""
    upstreams: dict[str, str]
    credentials: Credentials

    def to_json(self) -> str:
        return json.dumps(
            {
                "answers": [
                    {
                        "body": body.decode(),
                        "response": answer.response.decode(),
                        "plan": None if answer.plan is None else vars_of(answer.plan),
                    }
                    for body, answer in self.answers.items()
                ],
                "upstreams": self.upstreams,
                "credentials": vars_of(self.credentials),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> FloorConfig:
        raw = json.loads(text)
        answers = {
            item["body"].encode(): Answer(
                item["response"].encode(), None if item["plan"] is None else DashboardPlan(**item["plan"])
            )
            for item in raw["answers"]
        }
        return cls(answers, dict(raw["upstreams"]), Credentials(**raw["credentials"]))


def vars_of(instance: DashboardPlan | Credentials) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in instance.__slots__}


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(
    receive: Receive, send: Send, startup: Callable[[], Awaitable[None]], shutdown: Callable[[], Awaitable[None]]
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


class BytesApp:
    """Reads the request body and answers its pre-built response."""

    def __init__(self, config: FloorConfig) -> None:
        self.answers = config.answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.startup, self.shutdown)
            return
        body = await read_body(receive)
        answer = self.answers.get(body)
        if answer is None:
            await respond(send, 400, UNKNOWN)
            return
        await self.work(answer)
        await respond(send, 200, answer.response)

    async def work(self, answer: Answer) -> None:
        return None

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class IoApp(BytesApp):
    """A dashboard's upstream requests, then its pre-built response."""

    def __init__(self, config: FloorConfig) -> None:
        super().__init__(config)
        self.urls = config.upstreams
        self.credentials = config.credentials
        self.session: aiohttp.ClientSession | None = None
        self.token = ""

    async def startup(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        await self.fetch_token()

    async def shutdown(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def fetch_token(self) -> None:
        assert self.session is not None
        c = self.credentials
        basic = base64.b64encode(f"{c.identity_client_id}:{c.identity_client_secret}".encode()).decode()
        async with self.session.post(
            f"{self.urls['identity']}/oauth/token",
            data=b"grant_type=client_credentials",
            headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        ) as response:
            response.raise_for_status()
            self.token = orjson.loads(await response.read())["access_token"]

    async def get(self, upstream: str, path_qs: str, headers: dict[str, str]) -> bytes:
        assert self.session is not None
        response = await self.session.get(URL(self.urls[upstream] + path_qs, encoded=True), headers=headers)
        return await _body(response)

    async def identity(self, path_qs: str) -> bytes:
        return await self.get("identity", path_qs, {"authorization": f"Bearer {self.token}"})

    async def billing(self, path_qs: str) -> bytes:
        t = int(time.time())
        message = f"{t}.GET.{path_qs}.{EMPTY_SHA256}".encode()
        signature = hmac.new(self.credentials.billing_signing_secret.encode(), message, hashlib.sha256).hexdigest()
        headers = {
            "authorization": f"Bearer {self.credentials.billing_api_key}",
            "mobius-signature": f"t={t},v1={signature}",
        }
        return await self.get("billing", path_qs, headers)

    async def projects(self, plan: DashboardPlan) -> bytes:
        assert self.session is not None
        query = (
            "query P($o: ID!, $f: Int, $i: Int) { projects(orgId: $o, first: $f) { totalCount "
            "pageInfo { hasNextPage endCursor } nodes { id name ownerId state issues(first: $i) { "
            f"{ISSUE_PAGE} }} }} }} }}"
        )
        body = orjson.dumps({"query": query, "variables": {"o": plan.org_id, "f": plan.projects, "i": plan.issues}})
        response = await self.session.post(
            f"{self.urls['projects']}/graphql",
            data=body,
            headers={"authorization": f"Bearer {self.credentials.projects_token}", "content-type": "application/json"},
        )
        return await _body(response)

    async def work(self, answer: Answer) -> None:
        plan = answer.plan
        if plan is None:
            return
        org = plan.org_id
        _, members, customers, projects = await asyncio.gather(
            self.identity(f"/v1/orgs?ids={org}"),
            self.identity(f"/v1/orgs/{org}/members?limit={plan.members}"),
            self.billing(f"/v1/customers?org_id={org}"),
            self.projects(plan),
        )
        customer = orjson.loads(customers)["data"][0]["id"]
        known = {user["id"] for user in orjson.loads(members)["data"]}
        wanted: dict[str, None] = {}
        for project in orjson.loads(projects)["data"]["projects"]["nodes"]:
            wanted[project["ownerId"]] = None
            for issue in project["issues"]["nodes"]:
                if issue["assigneeId"] is not None:
                    wanted[issue["assigneeId"]] = None
        missing = [user for user in wanted if user not in known]
        second: list[Awaitable[bytes]] = [
            self.billing(f"/v1/subscriptions?customer={customer}"),
            self.billing(f"/v1/invoices?customer={customer}&limit={plan.invoices}"),
        ]
        if missing:
            second.append(self.identity(f"/v1/users?ids={','.join(missing)}"))
        await asyncio.gather(*second)


async def _body(response: aiohttp.ClientResponse) -> bytes:
    """The body, read before the status is checked: reading to the end hands the connection back,
    so the response needs no ``async with`` (whose enter and exit coroutines cost a call some 17K
    instructions the floor should not pay)."""
    body = await response.read()
    response.raise_for_status()
    return body


def _config() -> FloorConfig:
    return FloorConfig.from_json(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8"))


def bytes_app() -> BytesApp:
    """uvicorn factory of `floor-bytes`."""
    return BytesApp(_config())


def io_app() -> IoApp:
    """uvicorn factory of `floor-io`."""
    return IoApp(_config())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("kind", choices=("bytes", "io"))
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ[CONFIG_ENV] = str(args.config.resolve())
    uvicorn.run(
        f"{__name__}:{args.kind}_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
