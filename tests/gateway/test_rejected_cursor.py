"""A client's bad cursor on one organization's projects fails that field only, even when the
gateway merged other organizations' pages into the same upstream request."""

from __future__ import annotations

from harness import Gateway, Sandbox

from sandbox.seed import fresh_seed

QUERY = """{
  u1: user(id: "user-1") { organization { projects(first: 2, after: "bogus") { totalCount } } }
  us: users(ids: ["user-77", "user-2"]) { organization { id projects(first: 2) { nodes { id } } } }
}"""


async def test_a_rejected_after_cursor_fails_only_its_own_organizations_projects(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    result = await gateway.query(QUERY)

    data = result["data"]
    assert data["u1"]["organization"]["projects"] is None
    assert [error["path"] for error in result["errors"]] == [["u1", "organization", "projects"]]
    projects_by_org = fresh_seed().projects.projects_by_org
    for user in data["us"]:
        org = user["organization"]
        assert [node["id"] for node in org["projects"]["nodes"]] == projects_by_org[org["id"]][:2]
