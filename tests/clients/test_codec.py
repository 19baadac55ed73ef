"""The codecs read what the pydantic models read before them, and locate what does not match."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import msgspec
import pytest

import clients.billing
import clients.identity
import clients.projects_values
from clients.billing import BillingInvoice
from clients.codec import Codec, Invalid, ModelCodec, StructCodec
from clients.identity import IdentityUser
from clients.projects import IssuePage
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


SCALARS = (
    msgspec.inspect.StrType,
    msgspec.inspect.IntType,
    msgspec.inspect.FloatType,
    msgspec.inspect.BoolType,
    msgspec.inspect.NoneType,
    msgspec.inspect.DateTimeType,
)


def _untracked_structs() -> list[type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for module in (clients.billing, clients.identity, clients.projects_values):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, msgspec.Struct) and not value.__struct_config__.gc:
                found[f"{module.__name__}.{value.__name__}"] = value
    return [found[name] for name in sorted(found)]


def _holds_only_scalars(kind: msgspec.inspect.Type) -> bool:
    """No reference cycle can run through a value of ``kind``: scalars, and immutable containers of
    Structs the collector does not track either."""
    if isinstance(kind, msgspec.inspect.UnionType):
        return all(_holds_only_scalars(member) for member in kind.types)
    if isinstance(kind, msgspec.inspect.VarTupleType):
        return _holds_only_scalars(kind.item_type)
    if isinstance(kind, msgspec.inspect.StructType):
        return not kind.cls.__struct_config__.gc and all(_holds_only_scalars(field.type) for field in kind.fields)
    return isinstance(kind, SCALARS)


@pytest.mark.parametrize("struct", _untracked_structs(), ids=lambda struct: struct.__name__)
def test_a_value_the_collector_does_not_track_holds_no_container_a_cycle_could_pass_through(
    struct: type[msgspec.Struct],
) -> None:
    assert _holds_only_scalars(msgspec.inspect.type_info(struct))


def test_the_values_of_a_decoded_answer_are_not_tracked_by_the_collector() -> None:
    page = StructCodec(IssuePage).decode(
        b'{"totalCount": 1, "pageInfo": {"hasNextPage": false}, "nodes": [{"id": "issue-1", "title": "T",'
        b' "state": "OPEN", "projectId": "proj-1", "assigneeId": null}]}'
    )

    assert not gc.is_tracked(page.nodes[0])
    assert not gc.is_tracked(page.page_info)
