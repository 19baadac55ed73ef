"""Reading webhook bodies: one strict pydantic model per vendor payload, bounded strings, and
``ValueError`` (never a pydantic or JSON error) for anything malformed."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_ID_CHARS = 128

Ident = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[A-Za-z0-9_.:-]+$")]
Word = Annotated[str, Field(min_length=1, max_length=64)]
Version = Annotated[int, Field(ge=0, le=2**53)]
Timestamp = Annotated[float, Field(ge=0, le=2**40)]

M = TypeVar("M", bound=BaseModel)


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def read_body(model: type[M], body: bytes) -> M:
    try:
        return TypeAdapter(model).validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(part) for part in first["loc"])[:100] or "body"
        raise ValueError(f"{where}: {str(first['msg'])[:100]}") from None
