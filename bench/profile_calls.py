"""Profile the per-call path: the same upstream calls through our clients and straight through aiohttp.

The cold dashboard's figure mixes our work per upstream call with the executor's and with decoding;
this isolates the clients. Each round makes up to three calls against the sandbox (in a child
process): identity's members page (OAuth2 bearer), billing's customer of an org (API key and HMAC
signature) and a small projects query (bearer; the GraphQL document posted by our own exchange).
``ours`` makes them through the gateway's clients (resilience pipeline, auth flows, metrics,
decoding); ``straight`` sends the same requests with the same headers through the same aiohttp
sessions and reads the bodies, nothing more (the response awaited and read, as our transport does:
``read`` releases the connection). The difference is our work per call.

    .venv/bin/python -m bench.profile_calls ours -n 1000 --profile >/dev/null   # a cProfile top list
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python -m bench.profile_calls ours \\
        -n 100 --callgrind                               # instructions: Collected / (n * calls per round)

``--only`` picks the calls of a round (``i``dentity, ``b``illing, ``p``rojects; all three by default).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import sys
import time
from typing import Any

import orjson
import uvloop
from graphql import parse, print_ast
from yarl import URL

from bench.profiling import add_timing_options, sandbox_running, timed
from clients.billing import BILLING
from clients.identity import IDENTITY
from clients.projects import PROJECTS_SLOT
from mobius.app import create_app
from mobius.demo import demo_settings
from mobius.logging import configure_logging
from sandbox import SandboxUrls
from sandbox.server import DEFAULT_CREDENTIALS

ORG = "org-1"
MEMBERS = f"/v1/orgs/{ORG}/members?limit=5"
CUSTOMERS = f"/v1/customers?org_id={ORG}"
DOCUMENT = parse(f'query P {{ projects(orgId: "{ORG}", first: 2) {{ totalCount nodes {{ id name }} }} }}')
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
JSON = "application/json"


async def ours(upstreams: Any, rounds: int, only: str) -> None:
    identity, billing, projects = upstreams[IDENTITY], upstreams[BILLING], upstreams[PROJECTS_SLOT]
    for _ in range(rounds):
        if "i" in only:
            await identity.members(ORG, limit=5, cursor=None)
        if "b" in only:
            await billing.customer_for_org(ORG)
        if "p" in only:
            await projects.graphql.execute(DOCUMENT)


class Straight:
    """The same requests as ``ours``, made with nothing around them."""

    def __init__(self, upstreams: Any) -> None:
        self.identity = upstreams.transport("identity")
        self.billing = upstreams.transport("billing")
        self.projects = upstreams.transport("projects")
        self.token = ""
        self.body = orjson.dumps({"query": print_ast(DOCUMENT)})

    def url(self, transport: Any, path_qs: str) -> URL:
        return URL(transport.policy.base_url.rstrip("/") + path_qs, encoded=True)

    async def fetch_token(self) -> None:
        credentials = DEFAULT_CREDENTIALS.identity
        basic = base64.b64encode(f"{credentials.client_id}:{credentials.client_secret}".encode()).decode()
        async with self.identity.session.post(
            self.url(self.identity, "/oauth/token"),
            data=b"grant_type=client_credentials",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        ) as response:
            response.raise_for_status()
            self.token = orjson.loads(await response.read())["access_token"]

    async def get(self, transport: Any, path_qs: str, headers: dict[str, str]) -> bytes:
        response = await transport.session.get(self.url(transport, path_qs), headers=headers)
        response.raise_for_status()
        body: bytes = await response.read()
        return body

    async def run(self, rounds: int, only: str) -> None:
        billing = DEFAULT_CREDENTIALS.billing
        projects = DEFAULT_CREDENTIALS.projects
        for _ in range(rounds):
            if "i" in only:
                await self.get(self.identity, MEMBERS, {"Accept": JSON, "Authorization": f"Bearer {self.token}"})
            if "b" in only:
                t = int(time.time())
                message = f"{t}.GET.{CUSTOMERS}.{EMPTY_SHA256}".encode()
                signature = hmac.digest(billing.signing_secret.encode(), message, "sha256").hex()
                headers = {
                    "Accept": JSON,
                    "Authorization": f"Bearer {billing.api_key}",
                    "Mobius-Signature": f"t={t},v1={signature}",
                }
                await self.get(self.billing, CUSTOMERS, headers)
            if "p" in only:
                response = await self.projects.session.post(
                    self.url(self.projects, "/graphql"),
                    data=self.body,
                    headers={"Accept": JSON, "Content-Type": JSON, "Authorization": f"Bearer {projects.token}"},
                )
                response.raise_for_status()
                await response.read()


async def _main(args: argparse.Namespace, urls: SandboxUrls) -> None:
    settings = demo_settings(
        urls,
        DEFAULT_CREDENTIALS,
        cache={"enabled": False, "response": {"enabled": False}},
        telemetry={"metrics": {"enabled": not args.no_metrics}},
    )
    configure_logging(settings.server.log_format, settings.telemetry.logs)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        upstreams = app.state.upstreams
        if args.kind == "ours":

            async def run(rounds: int) -> None:
                await ours(upstreams, rounds, args.only)

        else:
            straight = Straight(upstreams)
            await straight.fetch_token()

            async def run(rounds: int) -> None:
                await straight.run(rounds, args.only)

        await run(args.warmup)
        with timed(profile=args.profile, with_callgrind=args.callgrind) as measured:
            await run(args.n)
    calls = args.n * len(set(args.only))
    print(
        f"{args.kind}: {calls} calls, {measured.spent_s / calls * 1e6:.1f} us CPU each (process time)", file=sys.stderr
    )
    measured.print_profile(args.sort, args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("ours", "straight"))
    parser.add_argument("-n", type=int, default=100, help="timed rounds")
    parser.add_argument("--only", default="ibp", help="the calls of a round: i (identity), b (billing), p (projects)")
    parser.add_argument("--warmup", type=int, default=20, help="rounds before timing")
    add_timing_options(parser)
    args = parser.parse_args()
    if not args.only or set(args.only) - set("ibp"):
        parser.error("--only takes letters of ibp")
    with sandbox_running() as urls:
        uvloop.run(_main(args, urls))


if __name__ == "__main__":
    main()
