"""The codecs read what the pydantic models read before them, and locate what does not match."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clients.billing import BillingInvoice
from clients.codec import Codec, Invalid, ModelCodec, StructCodec
from clients.identity import IdentityUser
from clients.support import SupportTicket

INVOICE = b'{"id": "in_1", "number": "A-1", "customer": "cus_1", "amount_due": %s, "currency": "eur", "status": "open"}'


@pytest.mark.parametrize("amount", [b"100", b'"100"', b"100.0"])
def test_a_whole_number_is_read_as_lax_as_before(amount: bytes) -> None:
    invoice = StructCodec(BillingInvoice).decode(INVOICE % amount)

    assert invoice.amount_due == 100


def test_a_unix_time_is_a_datetime_and_a_number_is_no_string() -> None:
    codec = StructCodec(IdentityUser)
    user = codec.convert({"id": "u-1", "org_id": "o-1", "name": "Ada", "updated_at": 1767312000, "etag": "e"})

    assert user.updated_at == datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(Invalid) as caught:
        codec.convert({"id": 7, "org_id": "o-1", "name": "Ada", "updated_at": 1767312000, "etag": "e"})
    assert (caught.value.location, caught.value.kind) == (("id",), "string_type")


@pytest.mark.parametrize("codec", [StructCodec(BillingInvoice), ModelCodec(SupportTicket)], ids=["struct", "model"])
def test_a_body_cut_short_is_not_json_whatever_came_before_the_cut(codec: Codec[object]) -> None:
    with pytest.raises(Invalid) as caught:
        codec.decode(b'{"id": 1, "number": ')

    assert (caught.value.location, caught.value.kind) == ((), "json_invalid")
