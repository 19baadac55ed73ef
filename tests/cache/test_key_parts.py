"""A key part is the value as ``quote(..., safe="-_.~@")`` writes it, ``None`` empty: ids of ASCII
letters, digits and ``-`` as they are, anything else escaped where it must be."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from clients.codec import StructCodec
from resolvers.cache.types import CacheType, key_part


@pytest.mark.parametrize(
    "value",
    ["user-17", "ORG1", "", "a_b.c~d@e-f", "a:b", "{tag}", "ü-1", "١٢٣", "space d", "x%2F", "-", 42, 10.5, True],
)
def test_a_key_part_is_the_value_quoted_as_a_url_path_segment(value: object) -> None:
    assert key_part(value) == quote(str(value), safe="-_.~@")


def test_none_is_an_empty_key_part() -> None:
    assert key_part(None) == ""


def test_a_batchs_cache_keys_are_each_keys_own_in_every_scope_however_many_keys_come_and_go() -> None:
    # the keys a type remembers between batches are the ones it would build; past its bound it starts afresh
    ctype: CacheType[tuple[str, int], str] = CacheType(
        name="pages",
        upstream="projects",
        codec=StructCodec(str),
        key_id=lambda key: f"{key_part(key[0])}:{key_part(key[1])}",
        entity="Page",
    )
    for scope in ("client-a", "client b", ""):
        for _ in range(2):
            keys = [(f"proj-{index % 1500}", index) for index in range(3000)]
            assert ctype.keys(keys, scope) == [ctype.key(key, scope) for key in keys]
    expected = f"c:projects:pages:{ctype.version}:client%20b:{{Page:proj-1:1}}"
    assert ctype.keys([("proj-1", 1)], "client b") == [expected]
