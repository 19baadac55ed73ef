"""``execution.planned`` switches the planned executor (and the streamlined resolvers) off without
a deploy: the gateway then runs graphql-core's and Strawberry's stock execution and answers the
same, with the same upstream requests. The differential tests (``test_executor_differential_*.py``)
compare the two on generated documents under upstream faults."""

from __future__ import annotations

from typing import Any

import pytest
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, gateway_settings
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from mobius.settings import ConfigError, load_settings
from sandbox import SandboxCredentials, SandboxUrls
from schema.execution import GatewayExecutionContext
from schema.root import MobiusSchema


def streamlined_fields(schema: MobiusSchema) -> list[str]:
    return [
        f"{type_name}.{field_name}"
        for type_name, graphql_type in schema._schema.type_map.items()
        for field_name, field in getattr(graphql_type, "fields", {}).items()
        if getattr(field, "resolve", None) is not None and field.resolve.__module__ == "schema.streamline"
    ]


async def dashboard_and_its_requests(gateway: Gateway, sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, int]]:
    await gateway.query('{ user(id: "user-1") { id } }')  # the sandbox reset revoked the token: fetch a new one
    before = await sandbox.api_requests()
    answer = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"}, headers=ADMIN_HEADERS)
    after = await sandbox.api_requests()
    return answer, {upstream: after[upstream] - before[upstream] for upstream in after}


async def test_switched_off_the_gateway_answers_the_dashboard_alike_on_stock_execution(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], sandbox: Sandbox, gateway: Gateway
) -> None:
    planned, planned_requests = await dashboard_and_its_requests(gateway, sandbox)

    with GatewayServer(gateway_settings(sandbox_server, execution={"planned": False})) as server:
        schema = server.app.state.schema
        assert schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
        assert streamlined_fields(schema) == []
        stock, stock_requests = await dashboard_and_its_requests(Gateway(server.url, gateway.http), sandbox)

    assert "errors" not in planned
    assert stock == planned
    assert stock_requests == planned_requests
    assert sum(stock_requests.values()) == 7


def test_planned_execution_is_the_default(sandbox_server: tuple[SandboxUrls, SandboxCredentials]) -> None:
    with GatewayServer(gateway_settings(sandbox_server)) as server:
        schema = server.app.state.schema
        assert schema.execution_context_class is GatewayExecutionContext
        assert "Organization.members" in streamlined_fields(schema)


def test_the_switch_is_read_from_the_environment(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOBIUS_EXECUTION__PLANNED", "false")
    assert gateway_settings(sandbox_server).execution.planned is False
    monkeypatch.setenv("MOBIUS_EXECUTION__PLANNED", "sometimes")
    with pytest.raises(ConfigError, match=r"execution\.planned"):
        gateway_settings(sandbox_server)


def test_an_unknown_execution_key_stops_the_start() -> None:
    with pytest.raises(ConfigError, match=r"execution\.plan"):
        load_settings(execution={"plan": False})
