"""What the hot-path caches and the runtime tuning must not change: cached verdicts stay per
document, repeated queries keep their upstream cost, and the GC settings do what they say."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, Sandbox

from mobius.runtime import tune_gc
from mobius.settings import RuntimeSettings
from schema.execution import GatewayExecutionContext


async def test_a_refused_document_is_refused_every_time_and_its_neighbour_is_not(gateway: Gateway) -> None:
    deep = "organization { " * 12 + "id" + " }" * 12
    too_deep = f'{{ user(id: "user-1") {{ {deep} }} }}'
    shallow = '{ user(id: "user-1") { organization { id } } }'
    for _ in range(3):
        refused = await gateway.query(too_deep)
        assert "depth" in refused["errors"][0]["message"].lower()
        allowed = await gateway.query(shallow)
        assert "errors" not in allowed
        assert allowed["data"]["user"]["organization"]["id"].startswith("org-")


async def test_aliases_limit_holds_for_a_cached_document(gateway: Gateway) -> None:
    many = " ".join(f"a{i}: __typename" for i in range(40))
    for _ in range(2):
        result = await gateway.query(f"{{ {many} }}")
        assert "errors" in result
        assert "alias" in result["errors"][0]["message"].lower()


async def test_repeated_cold_dashboards_cost_seven_upstream_requests_each(gateway: Gateway, sandbox: Sandbox) -> None:
    first = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    assert "errors" not in first
    before = sum((await sandbox.api_requests()).values())
    for _ in range(3):
        async with gateway.http.post(
            f"{gateway.url}/admin/cache/invalidate", json={"all": True}, headers=ADMIN_HEADERS
        ) as emptied:
            assert emptied.status == 200
        again = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
        assert again == first
    assert sum((await sandbox.api_requests()).values()) - before == 3 * 7


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


@pytest.mark.usefixtures("restore_gc")
def test_tune_gc_sets_the_young_threshold_and_freezes_start_up_objects() -> None:
    gc.unfreeze()
    tune_gc(RuntimeSettings(gc_freeze=True, gc_gen0_threshold=12_345))
    assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restore_gc")
def test_tune_gc_can_keep_pythons_defaults() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    tune_gc(RuntimeSettings(gc_freeze=False, gc_gen0_threshold=None))
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_a_dashboard_leaves_no_executor_for_the_collector(gateway: Gateway, saved_garbage: list[object]) -> None:
    """The executor is freed when its request ends, not by a young collection every few hundred
    requests (the stall ``schema.async_work`` removed)."""
    for _ in range(3):
        assert "errors" not in await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    gc.collect()
    assert not [found for found in saved_garbage if isinstance(found, GatewayExecutionContext)]
