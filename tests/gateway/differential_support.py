"""How the differential tests compare the two executors on the Mobius schema, against the real
sandbox, under upstream faults.

Two gateways run side by side, one on the planned executor and one with ``execution.planned:
false`` (graphql-core's and Strawberry's stock execution): the gateway tests' ``executors``
fixture. Each document is sent to both, each time from the same state: the sandbox's seeded data
(queries change nothing), the same faults set, the gateway's resilience state reset, no cache.
Data, errors (message, path, locations, extensions) and the HTTP status must be equal; the order of
errors is not compared (the spec leaves it open), and where upstreams fail, neither are the errors
below a null that a non-null error made (see ``comparable``: which of those are reported depends on
arrival order).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from harness import ADMIN_HEADERS, GatewayServer, Sandbox, gateway_settings

from mobius.demo import sandbox_upstreams
from mobius.settings import Settings
from sandbox import SandboxCredentials, SandboxUrls

DIFFERENTIAL_WARNINGS = pytest.mark.filterwarnings(
    # Cancelling fields whose answer is thrown away (a non-null sibling failed) can leave coroutines
    # that never started, on both paths (graphql-core cancels tasks of its ``gather_with_cancel``
    # before their first step). When the cyclic collector frees one while a namedtuple's ``__new__``
    # runs (graphql-core's ``Path``, whose generated code has no builtins), CPython 3.11 cannot
    # import ``warnings`` there and reports ``KeyError('__import__')`` instead of the warning.
    "ignore:Exception ignored in. <coroutine object:pytest.PytestUnraisableExceptionWarning",
    "ignore:coroutine '.*' was never awaited:RuntimeWarning",
)
"""The warnings both executors may leave (each differential test module marks itself with it)."""

ROUTES = {
    "identity": [
        "GET /v1/users",
        "GET /v1/users/{id}",
        "GET /v1/orgs",
        "GET /v1/orgs/{id}",
        "GET /v1/orgs/{id}/members",
    ],
    "billing": ["GET /v1/customers", "GET /v1/subscriptions", "GET /v1/invoices"],
    "projects": ["POST /graphql"],
}
READ_TIMEOUT_S = 0.5
"""Short enough for hangs to stay cheap, long enough for a loopback answer on a busy machine."""


def differential_settings(sandbox_server: tuple[SandboxUrls, SandboxCredentials], *, planned: bool) -> Settings:
    """No cache, one attempt per call and breakers that never open: every run of a document
    meets its faults the same way, whatever ran before it."""
    urls, credentials = sandbox_server
    resilience = {"retry": {"attempts": 1}, "breaker": {"minimum_calls": 1_000_000}}
    timeouts = {"connect_s": READ_TIMEOUT_S, "read_s": READ_TIMEOUT_S, "total_s": READ_TIMEOUT_S}
    upstreams = {
        name: {**upstream, "resilience": resilience, "timeouts": timeouts}
        for name, upstream in sandbox_upstreams(urls, credentials).items()
    }
    settings = gateway_settings(sandbox_server, cache={"enabled": False}, execution={"planned": planned})
    return settings.model_copy(update={"upstreams": type(settings.upstreams).model_validate(upstreams)})


@dataclasses.dataclass(frozen=True)
class Case:
    document: str
    variables: dict[str, Any]
    faults: dict[str, dict[str, Any]]
    admin: bool

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        faults = orjson.dumps(self.faults).decode()
        return f"Case(admin={self.admin}, faults={faults}, variables={self.variables},\ndocument=\n{self.document})"


@dataclasses.dataclass
class Executors:
    planned: GatewayServer
    stock: GatewayServer
    sandbox: Sandbox

    async def answer(self, server: GatewayServer, case: Case) -> tuple[int, dict[str, Any]]:
        for upstream in ROUTES:  # queries change no data: the faults are all that differ between runs
            await self.sandbox.faults(upstream, **case.faults.get(upstream, {}))
        await server.app.state.upstreams.reset_resilience()
        payload = {"query": case.document, "variables": case.variables}
        headers = ADMIN_HEADERS if case.admin else {}
        async with self.sandbox.http.post(f"{server.url}/graphql", json=payload, headers=headers) as response:
            body: dict[str, Any] = orjson.loads(await response.read())
            errors = sorted(body.get("errors") or [], key=orjson.dumps)
            return response.status, {**body, "errors": errors}

    async def compare(self, case: Case) -> dict[str, Any]:
        for _ in range(SLOW_MACHINE_RUNS):
            planned = await self.answer(self.planned, case)
            stock = await self.answer(self.stock, case)
            if comparable(planned, case) == comparable(stock, case):
                return planned[1]
            if not (unasked_timeouts(planned, case) or unasked_timeouts(stock, case)):
                break
        pytest.fail(f"the executors differ on {case!r}\nplanned: {planned}\nstock:   {stock}", pytrace=False)


SLOW_MACHINE_RUNS = 3
"""A busy machine can hold a healthy upstream call past the short timeout: a comparison spoiled by
a timeout that no hang asked for is run again, this many times at most."""


def unasked_timeouts(answer: tuple[int, dict[str, Any]], case: Case) -> bool:
    return any(
        error.get("extensions", {}).get("code") == "UPSTREAM_TIMEOUT"
        and not case.faults.get(error["extensions"].get("upstream"), {}).get("hang")
        for error in answer[1]["errors"]
    )


def comparable(answer: tuple[int, dict[str, Any]], case: Case) -> Any:
    """The answer, with one allowance where upstreams fail.

    An error below a position that is null in the response is reported only if it was raised
    before a non-null error nulled that position: execution below it is cancelled, and later
    errors there are dropped (graphql-core's ``CollectedErrors``). When upstream requests fail,
    which comes first is decided by which response arrives first, so graphql-core's own path
    varies from run to run there. Such errors are compared as "at least one below each such null";
    everything else (the data, every error whose parent is in the response, the status) exactly.
    """
    status, body = answer
    if not case.faults:
        return answer
    located: list[Any] = []
    below_nulls: set[tuple[Any, ...]] = set()
    for error in body["errors"]:
        nulled = nulled_ancestor(body.get("data"), error.get("path") or [])
        if nulled is None:
            located.append(error)
        else:
            below_nulls.add(nulled)
    return status, {**body, "errors": located}, below_nulls


def nulled_ancestor(data: Any, path: list[str | int]) -> tuple[str | int, ...] | None:
    """The first position above ``path`` (the root included) that is null in ``data``."""
    node = data
    for depth, key in enumerate(path):
        if node is None:
            return tuple(path[:depth])
        node = node[key]
    return None
