"""A key part is the value as ``quote(..., safe="-_.~@")`` writes it, ``None`` empty: ids of ASCII
letters, digits and ``-`` as they are, anything else escaped where it must be."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from resolvers.cache.types import key_part


@pytest.mark.parametrize(
    "value",
    ["user-17", "ORG1", "", "a_b.c~d@e-f", "a:b", "{tag}", "ü-1", "١٢٣", "space d", "x%2F", "-", 42, 10.5, True],
)
def test_a_key_part_is_the_value_quoted_as_a_url_path_segment(value: object) -> None:
    assert key_part(value) == quote(str(value), safe="-_.~@")


def test_none_is_an_empty_key_part() -> None:
    assert key_part(None) == ""
