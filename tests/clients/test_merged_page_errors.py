"""Keys merged into one upstream request fail on their own: one organization's rejected cursor
must not take the other organizations' pages with it (the upstream's ``projects`` is non-null, so
its error nulls the whole answer)."""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from clients.errors import UpstreamStatusError
from clients.projects import PROJECTS_SLOT, IssuesArgs, ProjectPage, ProjectsKey, ProjectsWithIssues
from clients.upstreams import Upstreams
from sandbox.seed import fresh_seed

BOGUS = ProjectsKey(org_id="org-1", first=2, after="bogus")
GOOD = [ProjectsKey(org_id="org-2", first=2), ProjectsKey(org_id="org-3", first=2)]


def seeded(key: ProjectsKey) -> list[str]:
    return fresh_seed().projects.projects_by_org[key.org_id][: key.first]


async def test_a_rejected_cursor_fails_only_its_own_page(sandbox: Any, upstreams: Upstreams) -> None:
    bad, *pages = await upstreams[PROJECTS_SLOT].projects_pages([BOGUS, *GOOD])

    assert isinstance(bad, UpstreamStatusError)
    assert bad.code == "UPSTREAM_BAD_REQUEST"
    assert [[node.id for node in page.nodes] for page in pages if isinstance(page, ProjectPage)] == [
        seeded(key) for key in GOOD
    ]


async def test_two_rejected_cursors_fail_both_and_spare_the_rest(sandbox: Any, upstreams: Upstreams) -> None:
    other_bogus = ProjectsKey(org_id="org-4", first=2, after="also-bogus")

    answers = await upstreams[PROJECTS_SLOT].projects_pages([BOGUS, GOOD[0], other_bogus, GOOD[1]])

    assert [type(answer).__name__ for answer in answers] == [
        "UpstreamStatusError",
        "ProjectPage",
        "UpstreamStatusError",
        "ProjectPage",
    ]


async def test_a_rejected_cursor_beside_nested_issue_pages_spares_the_other_pages(
    sandbox: Any, upstreams: Upstreams
) -> None:
    wanted = (IssuesArgs(first=3),)
    keys = [replace(BOGUS, issues=wanted), replace(GOOD[0], issues=wanted)]

    bad, good = await upstreams[PROJECTS_SLOT].projects_with_issues(keys)

    assert isinstance(bad, UpstreamStatusError)
    assert isinstance(good, ProjectsWithIssues)
    assert [node.id for node in good.page.nodes] == seeded(GOOD[0])
