"""An upstream is a declaration: settings by name, their validation, and the loaders, cache types
and health rows derived from the declarations."""

from __future__ import annotations

import os
from typing import Any

import pytest
from config_support import offline_upstreams

from clients.declaration import Fetched, Read, Upstream, Vendor, merged
from clients.identity import IDENTITY, MEMBERS, ORGS, USERS, MembersKey
from clients.registry import collect, registry
from clients.upstreams import Upstreams
from mobius.settings import ConfigError, cache_ttls, load_settings
from mobius.upstreams import build_upstreams
from resolvers.loaders import Loaders, Reads, cache_type
from tests.clients.support import route_count


@pytest.fixture(autouse=True)
def _no_mobius_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MOBIUS_"):
            monkeypatch.delenv(name)


def config_error(**overrides: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    return str(caught.value)


def test_settings_hold_one_section_per_declared_upstream_by_name() -> None:
    settings = load_settings(upstreams=offline_upstreams())

    assert [name for name, _ in settings.upstreams.items()] == [upstream.name for upstream in registry().upstreams]
    assert settings.upstreams["billing"].max_fanout == 10, "the billing vendor's declared default"


def test_an_unknown_upstream_is_a_config_error_naming_it() -> None:
    message = config_error(upstreams={**offline_upstreams(), "crm": {"base_url": "http://crm"}})

    assert "upstreams.crm" in message


def test_a_missing_upstream_is_a_config_error_naming_it() -> None:
    sections = offline_upstreams()
    del sections["projects"]

    assert "upstreams.projects" in config_error(upstreams=sections)


def test_an_auth_kind_the_vendor_does_not_accept_is_a_config_error_naming_the_key() -> None:
    sections = offline_upstreams()
    sections["billing"]["auth"] = {"type": "bearer", "token": "t"}

    message = config_error(upstreams=sections)

    assert "upstreams.billing.auth.type" in message
    assert "api_key_hmac" in message


def test_a_vendor_that_does_not_serve_the_slot_is_a_config_error_naming_the_key() -> None:
    sections = offline_upstreams()
    sections["billing"]["vendor"] = "identity"

    message = config_error(upstreams=sections)

    assert "upstreams.billing.vendor" in message


def test_ttls_are_declared_and_may_be_configured_per_cached_type() -> None:
    settings = load_settings(upstreams=offline_upstreams(), cache={"ttl_s": {"users": 5}})

    ttls = cache_ttls(settings)
    assert ttls["users"] == 5
    assert set(ttls) == {read.name for read in registry().reads}, "the engine can never miss one"
    assert "cache.ttl_s" in config_error(upstreams=offline_upstreams(), cache={"ttl_s": {"userz": 5}})


def test_a_read_name_declared_twice_is_refused() -> None:
    async def nothing(_client: object, keys: Any) -> Fetched[Any]:
        return Fetched([None for _ in keys])

    twice = Read(name="users", codec=USERS.codec, fetch=merged(nothing), batch="merged", ttl_s=1.0)
    other = Upstream(name="other", reads=(twice,))
    vendor = Vendor(name="other", serves=other, protocol="rest", auth=("none",), client=lambda http: http)

    class Module:
        pass

    module = Module()
    vars(module).update(OTHER=other, VENDOR=vendor)
    identity_module = Module()
    vars(identity_module).update(IDENTITY=IDENTITY)
    with pytest.raises(ValueError, match="users"):
        collect([module, identity_module])


def test_cache_keys_name_a_vendor_other_than_the_default() -> None:
    default = cache_type(USERS, upstream="identity")
    other = cache_type(USERS, upstream="identity", vendor="acme")

    assert default.key("u-1", "s").startswith("c:identity:users:")
    assert other.key("u-1", "s").startswith("c:identity@acme:users:")


async def test_a_requests_loaders_are_created_on_first_use_only(upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)

    first = loaders[USERS]

    assert loaders[USERS] is first
    assert set(loaders._built) == {USERS}
    loaders[ORGS]
    assert set(loaders._built) == {USERS, ORGS}


async def test_every_declared_read_has_a_loader_and_a_cache_type(sandbox: Any, upstreams: Upstreams) -> None:
    reads = Reads(upstreams)

    assert sorted(ctype.name for ctype in reads.cache_types) == sorted(read.name for read in registry().reads)
    page = await reads.loaders()[MEMBERS].load(MembersKey("org-1", 3))
    assert page is not None
    assert await route_count(sandbox, "identity", "GET /v1/orgs/{id}/members") == 1


def test_a_health_row_per_configured_upstream_names_its_vendor() -> None:
    upstreams = build_upstreams(load_settings(upstreams=offline_upstreams()))

    rows = upstreams.health()

    assert [(row.name, row.vendor) for row in rows] == [
        (upstream.name, registry().vendor(upstream, None).name) for upstream in registry().upstreams
    ]
