"""Without Redis (as ``mobius demo`` runs): ``closeIssue`` through the gateway -> the sandbox
closes the issue and sends its signed webhook -> the in-process stream, worker and bus -> an
``issueEvents`` subscriber, with the issue's project resolved through the usual loaders; nothing
configured beyond what the sandbox's settings give."""

from __future__ import annotations

import asyncio

from harness import ADMIN_HEADERS, Gateway, GatewayServer, Sandbox, first_subscription_event
from subscription_support import (
    SandboxServerInfo,
    delivered,
    point_webhooks_at,
    until_listening,
    webhook_settings,
)

ISSUE_EVENTS = """
subscription Issues($project: ID!) {
  issueEvents(projectId: $project) { type issueId projectId state project { id name } }
}"""
ISSUES = '{ project(id: "proj-1") { name issues(first: 50) { nodes { id state } } } }'
CLOSE = "mutation Close($id: ID!) { closeIssue(id: $id) { id state } }"


async def test_a_closed_issue_reaches_an_issue_subscriber_in_process(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox
) -> None:
    with GatewayServer(webhook_settings(sandbox_server, None)) as server:
        gateway = Gateway(server.url, sandbox.http)
        await point_webhooks_at(sandbox.http, sandbox.url("projects"), server.url)
        project = (await gateway.query(ISSUES, headers=ADMIN_HEADERS))["data"]["project"]
        issue = next(node["id"] for node in project["issues"]["nodes"] if node["state"] == "OPEN")
        listening = asyncio.create_task(first_subscription_event(server.url, ISSUE_EVENTS, {"project": "proj-1"}))
        await until_listening(server, "issue:proj-1")

        closed = await gateway.query(CLOSE, {"id": issue}, headers=ADMIN_HEADERS)
        event = await asyncio.wait_for(listening, 10)
        sent = await delivered(sandbox.http, sandbox.url("projects"))

    assert closed["data"]["closeIssue"] == {"id": issue, "state": "CLOSED"}
    assert event == {
        "type": "issue.closed",
        "issueId": issue,
        "projectId": "proj-1",
        "state": "CLOSED",
        "project": {"id": "proj-1", "name": project["name"]},
    }
    assert sent == [("issue.closed", "delivered")]
