"""The support upstream over HTTP: Basic auth, cursor pages, the batch read, the account's rate limit,
ticket changes, faults, counters, reset and rotation."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import aiohttp
import pytest
from canary import CANARY, CANARY_CREDENTIALS
from yarl import URL

from sandbox import SandboxServer, SandboxUrls
from sandbox.seed import FIRST_PAGE, SEED_NOW, fresh_identity, iso
from sandbox.support_data import ORG1_TICKETS, OTHER_ORG_TICKETS, fresh_support
from tests.clock import FakeClock
from tests.sandbox.callers import SUPPORT_AUTH, Call, basic, caller

CREDS = CANARY_CREDENTIALS.support
ORG1_TICKETS_PATH = "/api/v2/organizations/org-1/tickets"


async def all_pages(support: Call, path: str) -> list[dict[str, object]]:
    """Every page of a ticket list, following `links.next` until `meta.has_more` is false."""
    pages = []
    response = await support("GET", path)
    while True:
        assert response.status == 200, await response.text()
        page = await response.json()
        pages.append(page)
        if not page["meta"]["has_more"]:
            assert page["links"]["next"] is None
            return pages
        next_url = URL(page["links"]["next"])
        response = await support("GET", next_url.path_qs)


async def test_the_agent_token_is_accepted_and_anything_else_is_401(
    fresh_sandbox: SandboxUrls, support: Call, http: aiohttp.ClientSession
) -> None:
    assert (await support("GET", "/api/v2/tickets/1")).status == 200
    refused = [
        {},
        basic(f"{CREDS.email}/token", "wrong-token"),
        basic(CREDS.email, CREDS.api_token),
        basic("someone@else.example/token", CREDS.api_token),
        {"Authorization": f"Bearer {CREDS.api_token}"},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ]
    for headers in refused:
        response = await support("GET", "/api/v2/tickets/1", headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert await response.json() == {"error": "Unauthorized", "description": "Couldn't authenticate you."}

    async with http.get(f"{fresh_sandbox.support}/_sandbox/stats") as response:
        stats = await response.json()
    assert stats["credentials"]["api_token"]["accepted"] == {"k1": 1}
    assert stats["credentials"]["api_token"]["rejected"] == len(refused)
    assert CANARY not in repr(stats)


async def test_an_organizations_tickets_page_to_the_end_oldest_first(support: Call) -> None:
    pages = await all_pages(support, f"{ORG1_TICKETS_PATH}?page[size]=10")

    assert [len(page["tickets"]) for page in pages] == [10, 10, ORG1_TICKETS - 20]
    tickets = [ticket for page in pages for ticket in page["tickets"]]
    ids = [ticket["id"] for ticket in tickets]
    assert ids == sorted(set(ids))
    assert [ticket["created_at"] for ticket in tickets] == sorted(ticket["created_at"] for ticket in tickets)
    assert all(page["meta"]["after_cursor"] for page in pages)
    assert {ticket["organization_id"] for ticket in tickets} == {"org-1"}
    assert set(tickets[0]) == {
        "id", "subject", "description", "status", "priority", "requester_id", "organization_id",
        "created_at", "updated_at",
    }  # fmt: skip
    whole = await support("GET", ORG1_TICKETS_PATH)
    assert [ticket["id"] for ticket in (await whole.json())["tickets"]] == ids


async def test_every_requester_is_a_member_of_the_tickets_organization(support: Call) -> None:
    identity = fresh_identity()
    for org_id in ("org-1", "org-2", "org-240"):
        tickets = [
            t for page in await all_pages(support, f"/api/v2/organizations/{org_id}/tickets") for t in page["tickets"]
        ]
        assert tickets
        assert all(identity.users[t["requester_id"]].org_id == org_id for t in tickets)


@pytest.mark.parametrize(
    "query",
    ["page[size]=0", "page[size]=101", "page[size]=x", "page[size]=%C2%B2", "page[after]=garbage!",
     "page[after]=" + base64.urlsafe_b64encode(b"after:" + b"9" * 5000).decode()],
)  # fmt: skip
async def test_a_bad_page_size_or_cursor_is_400(support: Call, query: str) -> None:
    response = await support("GET", f"{ORG1_TICKETS_PATH}?{query}")

    assert response.status == 400
    assert (await response.json())["error"] == "InvalidPaginationParameter"


async def test_an_unknown_organization_or_ticket_is_404(support: Call) -> None:
    for path in ("/api/v2/organizations/org-999/tickets", "/api/v2/tickets/999999", "/api/v2/tickets/abc"):
        response = await support("GET", path)
        assert response.status == 404, path
        assert (await response.json())["error"] == "RecordNotFound"


async def test_show_many_answers_found_ids_once_in_request_order_and_leaves_missing_ones_out(support: Call) -> None:
    response = await support("GET", "/api/v2/tickets/show_many?ids=7,999999,3,abc,7,%C2%B2")

    assert response.status == 200
    assert [ticket["id"] for ticket in (await response.json())["tickets"]] == [7, 3]
    one = await support("GET", "/api/v2/tickets/3")
    assert (await one.json())["ticket"] == (await response.json())["tickets"][1]


async def test_show_many_takes_at_most_100_ids_and_at_least_one(support: Call) -> None:
    exactly_100 = ",".join(str(n) for n in range(1, 101))
    assert len((await (await support("GET", f"/api/v2/tickets/show_many?ids={exactly_100}")).json())["tickets"]) == 100
    for ids in (",".join(str(n) for n in range(1, 102)), "", ","):
        response = await support("GET", f"/api/v2/tickets/show_many?ids={ids}")
        assert response.status == 400, ids
        assert (await response.json())["error"] == "InvalidValue"


@pytest.fixture(scope="module")
def still_clock() -> FakeClock:
    return FakeClock(float(SEED_NOW + 30))


@pytest.fixture(scope="module")
def still_sandbox(still_clock: FakeClock) -> Iterator[SandboxUrls]:
    """A sandbox whose clock only moves when a test moves it."""
    with SandboxServer(credentials=CANARY_CREDENTIALS, clock=still_clock) as started:
        yield started


@pytest.fixture
async def still_support(still_sandbox: SandboxUrls, http: aiohttp.ClientSession) -> Call:
    """Support on the still clock, freshly reset (a full account limit): windows turn only when told."""
    async with http.post(f"{still_sandbox.support}/_sandbox/reset") as response:
        assert response.status == 200
    return caller(http, still_sandbox.support, SUPPORT_AUTH)


async def test_every_api_answer_says_how_many_requests_are_left(still_support: Call) -> None:
    answers = [
        await still_support("GET", "/api/v2/tickets/1"),
        await still_support("GET", "/api/v2/tickets/999999"),
        await still_support("GET", "/api/v2/tickets/1", headers={}),
        await still_support("GET", "/api/v2/no-such-route"),
    ]
    assert [answer.status for answer in answers] == [200, 404, 401, 404]
    assert [answer.headers["X-Rate-Limit-Remaining"] for answer in answers] == ["699", "698", "697", "696"]
    assert {answer.headers["X-Rate-Limit"] for answer in answers} == {"700"}


async def test_past_the_account_limit_the_answer_is_429_with_retry_after_until_the_window_turns(
    still_sandbox: SandboxUrls, still_clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    base = still_sandbox.support
    async with http.post(f"{base}/_sandbox/rate-limit", json={"limit": 2, "window_s": 60}) as response:
        assert (response.status, await response.json()) == (200, {"limit": 2, "window_s": 60.0})
    statuses = []
    for _ in range(3):
        async with http.get(f"{base}/api/v2/tickets/1", headers=SUPPORT_AUTH) as response:
            statuses.append((response.status, response.headers["X-Rate-Limit-Remaining"]))
            limited = response
            body = await response.json()
    assert statuses == [(200, "1"), (200, "0"), (429, "0")]
    assert limited.headers["Retry-After"] == str(60 - int(still_clock()) % 60)
    assert body["error"] == "TooManyRequests"

    still_clock.advance(int(limited.headers["Retry-After"]))
    async with http.get(f"{base}/api/v2/tickets/1", headers=SUPPORT_AUTH) as response:
        assert (response.status, response.headers["X-Rate-Limit-Remaining"]) == (200, "1")
    async with http.post(f"{base}/_sandbox/reset") as response:
        assert response.status == 200
    async with http.get(f"{base}/api/v2/tickets/1", headers=SUPPORT_AUTH) as response:
        assert response.headers["X-Rate-Limit-Remaining"] == "699"
    for bad in ({"limit": -1, "window_s": 60}, {"limit": 1}, {"limit": 1, "window_s": 0, "extra": 1}):
        async with http.post(f"{base}/_sandbox/rate-limit", json=bad) as response:
            assert response.status == 400, bad


async def test_a_ticket_changes_status_and_reset_restores_the_seed(
    still_sandbox: SandboxUrls, still_clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    seeded = fresh_support()
    ticket_id = next(t.id for t in seeded.tickets.values() if t.status == "open")
    url = f"{still_sandbox.support}/api/v2/tickets/{ticket_id}"
    change = {"ticket": {"status": "solved", "priority": "urgent"}}
    async with http.put(url, json=change, headers=SUPPORT_AUTH) as response:
        assert response.status == 200
        changed = (await response.json())["ticket"]
    assert (changed["status"], changed["priority"]) == ("solved", "urgent")
    assert changed["updated_at"] == iso(int(still_clock()))
    async with http.get(url, headers=SUPPORT_AUTH) as response:
        assert (await response.json())["ticket"] == changed

    async with http.post(f"{still_sandbox.support}/_sandbox/reset") as response:
        assert response.status == 200
    async with http.get(url, headers=SUPPORT_AUTH) as response:
        assert (await response.json())["ticket"] == seeded.tickets[ticket_id].to_json()


async def test_a_change_that_breaks_a_ticket_rule_is_422_and_a_bad_body_is_400(
    fresh_sandbox: SandboxUrls, support: Call
) -> None:
    seeded = fresh_support().tickets.values()
    closed = next(t.id for t in seeded if t.status == "closed")
    pending = next(t.id for t in seeded if t.status == "pending")
    for ticket_id, change in (
        (closed, {"status": "open"}),
        (pending, {"status": "new"}),
        (pending, {"status": "done"}),
        (pending, {"priority": "whenever"}),
    ):
        response = await support("PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": change})
        assert response.status == 422, change
        assert (await response.json())["error"] == "RecordInvalid"
    for body in ({"status": "open"}, {"ticket": {"assignee": "me"}}, {"ticket": {"subject": ""}}, [1]):
        response = await support("PUT", f"/api/v2/tickets/{pending}", json=body)
        assert response.status == 400, body
    response = await support("PUT", f"/api/v2/tickets/{pending}", data=b"not json")
    assert response.status == 400
    assert (await support("PUT", "/api/v2/tickets/999999", json={"ticket": {}})).status == 404


async def test_requests_are_counted_by_route_and_faults_answer_in_the_support_envelope(
    fresh_sandbox: SandboxUrls, support: Call, http: aiohttp.ClientSession
) -> None:
    base = fresh_sandbox.support
    faults = {"error_rate": 1.0, "status": 503, "routes": ["GET /api/v2/tickets/show_many"]}
    async with http.post(f"{base}/_sandbox/faults", json=faults) as response:
        assert response.status == 200
    failed = await support("GET", "/api/v2/tickets/show_many?ids=1")
    assert failed.status == 503
    assert (await failed.json())["error"] == "injected_fault"
    assert (await support("GET", "/api/v2/tickets/1")).status == 200
    assert (await support("GET", f"{ORG1_TICKETS_PATH}?page[size]=5")).status == 200

    async with http.get(f"{base}/_sandbox/stats") as response:
        stats = await response.json()
    assert stats["requests"] == 3
    assert stats["routes"] == {
        "GET /api/v2/organizations/{org_id}/tickets": 1,
        "GET /api/v2/tickets/show_many": 1,
        "GET /api/v2/tickets/{id}": 1,
    }


async def test_a_rotated_api_token_with_an_overlap_accepts_both_until_the_overlap_ends(
    fresh_sandbox: SandboxUrls, support: Call, http: aiohttp.ClientSession
) -> None:
    base = fresh_sandbox.support
    new = "R" + CREDS.api_token
    rotate = {"credential": "api_token", "value": new, "overlap_s": 60}
    async with http.post(f"{base}/_sandbox/rotate", json=rotate) as response:
        assert await response.json() == {"credential": "api_token", "key_id": "k2", "previous": "k1", "overlap_s": 60}
    with_new = basic(f"{CREDS.email}/token", new)
    assert (await support("GET", "/api/v2/tickets/1")).status == 200
    assert (await support("GET", "/api/v2/tickets/1", headers=with_new)).status == 200

    async with http.post(f"{base}/_sandbox/end-overlap", json={"credential": "api_token"}) as response:
        assert await response.json() == {"credential": "api_token", "active": ["k2"]}
    assert (await support("GET", "/api/v2/tickets/1")).status == 401
    assert (await support("GET", "/api/v2/tickets/1", headers=with_new)).status == 200


def test_the_seed_gives_every_organization_a_handful_of_tickets_from_its_own_members() -> None:
    first, second = fresh_support(), fresh_support()
    assert first == second
    identity = fresh_identity()
    assert set(first.by_org) == set(identity.orgs)
    low, high = OTHER_ORG_TICKETS
    assert all(low <= len(ids) <= high for org_id, ids in first.by_org.items() if org_id != "org-1")
    assert sorted(id_ for ids in first.by_org.values() for id_ in ids) == list(range(1, len(first.tickets) + 1))
    org1 = [first.tickets[i] for i in first.by_org["org-1"]]
    assert len(org1) == ORG1_TICKETS
    beyond = set(identity.orgs["org-1"].member_ids[FIRST_PAGE:])
    assert sum(t.requester_id in beyond for t in org1) >= ORG1_TICKETS / 4
    assert all(t.created_at <= t.updated_at <= iso(SEED_NOW) for t in first.tickets.values())
