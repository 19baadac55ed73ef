"""Without Redis (as ``mobius demo`` runs): a signed webhook reaches a subscriber through the
in-process stream, worker and bus with no configuration beyond the webhook's secret; an issue
event's project is resolved through the usual loaders."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
from events_support import PROJECTS_SECRET, sign_github
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from harness import GatewayServer
from subscription_support import BEARER, SandboxServerInfo, until_listening, webhook_settings

ISSUE_EVENTS = """
subscription Issues($project: ID!) {
  issueEvents(projectId: $project) { id type issueId projectId version state project { id name } }
}"""


async def first_issue_event(url: str, project_id: str) -> dict[str, Any]:
    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": BEARER}
    )
    async with Client(transport=transport) as session:
        async for result in session.subscribe(GraphQLRequest(ISSUE_EVENTS, variable_values={"project": project_id})):
            event: dict[str, Any] = result["issueEvents"]
            return event
    raise AssertionError("the subscription ended without an event")


async def test_a_projects_webhook_reaches_an_issue_subscriber_in_process(
    sandbox_server: SandboxServerInfo, http: aiohttp.ClientSession
) -> None:
    body = orjson.dumps(
        {
            "action": "closed",
            "occurred_at": time.time(),
            "issue": {"id": "issue-3", "project_id": "proj-1", "state": "closed", "version": 5},
        }
    )
    with GatewayServer(webhook_settings(sandbox_server, None)) as server:
        listening = asyncio.create_task(first_issue_event(server.url, "proj-1"))
        await until_listening(server, "issue:proj-1")
        async with http.post(
            f"{server.url}/webhooks/projects", data=body, headers=sign_github(PROJECTS_SECRET, "d-1", body)
        ) as response:
            accepted = response.status
        event = await asyncio.wait_for(listening, 10)
        project = await _project_name(http, server.url)

    assert accepted in (200, 202)
    assert event == {
        "id": "d-1",
        "type": "issue.closed",
        "issueId": "issue-3",
        "projectId": "proj-1",
        "version": 5,
        "state": "CLOSED",
        "project": {"id": "proj-1", "name": project},
    }


async def _project_name(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(f"{url}/graphql", json={"query": '{ project(id: "proj-1") { name } }'}) as response:
        name: str = (await response.json())["data"]["project"]["name"]
        return name
