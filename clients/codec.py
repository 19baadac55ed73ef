"""Typed codecs: how a payload becomes one of the gateway's types, and how the cache writes it back.

A ``Codec[T]`` decodes JSON bytes or already-loaded objects into ``T`` (raising ``Invalid`` for a
payload that does not match), encodes a ``T`` as JSON for the cache, and has a ``version``: a
digest of the type's shape, so that a cache entry written for another shape is never read.

``StructCodec`` serves frozen ``msgspec.Struct`` types (decoded in one pass from the bytes);
``ModelCodec`` serves pydantic models.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Generic, Protocol, TypeVar

import msgspec
import orjson
from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

Location = tuple[str | int, ...]


class Invalid(ValueError):
    """A payload that does not match a codec's type: where (``location``, by wire names and list
    indexes) and what was wrong (``kind``, e.g. ``missing`` or ``int_type``); never the value."""

    def __init__(self, location: Location, kind: str) -> None:
        super().__init__(f"{'.'.join(str(part) for part in location) or 'body'}: {kind}")
        self.location = location
        self.kind = kind


class Codec(Protocol[T]):
    @property
    def version(self) -> str: ...

    def decode(self, data: bytes) -> T:
        """The type read from JSON bytes; ``Invalid`` when they do not match it."""
        ...

    def convert(self, value: object) -> T:
        """The type read from loaded JSON (dicts, lists, scalars); ``Invalid`` when it does not match."""
        ...

    def encode(self, value: T) -> bytes: ...


def _digest(schema: object) -> str:
    return hashlib.blake2b(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS), digest_size=4).hexdigest()


_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_MISSING = re.compile(r"Object missing required field `(.+)`")
_EXPECTED = re.compile(r"Expected `([a-z]+)")
_KIND_BY_TYPE = {
    "str": "string_type",
    "int": "int_type",
    "float": "float_type",
    "bool": "bool_type",
    "array": "list_type",
    "object": "model_type",
}


def _invalid_struct(exc: msgspec.ValidationError) -> Invalid:
    """msgspec's message (``Expected `int`, got `str` - at `$.nodes[0].id```) as an ``Invalid`` named
    like pydantic's error types."""
    what, at, path = str(exc).rpartition(" - at `$")
    what, path = (what, path.removesuffix("`")) if at else (path, "")
    location: list[str | int] = [name or int(index) for name, index in _PATH_PART.findall(path)]
    missing = _MISSING.fullmatch(what)
    if missing is not None:
        return Invalid((*location, missing.group(1)), "missing")
    expected = _EXPECTED.match(what)
    kind = _KIND_BY_TYPE.get(expected.group(1), "invalid") if expected is not None else "invalid"
    return Invalid(tuple(location), kind)


def invalid_model(exc: ValidationError) -> Invalid:
    """A pydantic ``ValidationError`` as an ``Invalid`` (its first error)."""
    first = exc.errors()[0]
    return Invalid(tuple(first["loc"]), first["type"])


class StructCodec(Generic[T]):
    """A frozen ``msgspec.Struct`` (or a container of them). Lax like pydantic's default mode: a
    number in a string or a whole float is read as an int, ``"true"`` as a bool, a Unix time as a
    datetime; nothing becomes a string that was not one."""

    def __init__(self, kind: type[T]) -> None:
        self.kind = kind
        self._decoder = msgspec.json.Decoder(kind, strict=False)
        self._encoder = msgspec.json.Encoder()

    @cached_property
    def version(self) -> str:
        return _digest(msgspec.json.schema(self.kind))

    def decode(self, data: bytes) -> T:
        """Bytes that are not JSON are ``json_invalid`` at the body, even where the decoder met a
        mismatch before the point where the JSON breaks off."""
        try:
            return self._decoder.decode(data)
        except msgspec.ValidationError as exc:
            invalid = _invalid_struct(exc)
        except msgspec.DecodeError:
            raise Invalid((), "json_invalid") from None
        try:
            msgspec.json.decode(data)
        except msgspec.DecodeError:
            raise Invalid((), "json_invalid") from None
        raise invalid

    def convert(self, value: object) -> T:
        try:
            return msgspec.convert(value, self.kind, strict=False)
        except msgspec.ValidationError as exc:
            raise _invalid_struct(exc) from None

    def encode(self, value: T) -> bytes:
        return self._encoder.encode(value)


class ModelCodec(Generic[T]):
    """A pydantic model (or a container of them), through its ``TypeAdapter``."""

    def __init__(self, kind: type[T]) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(kind)

    @cached_property
    def version(self) -> str:
        return _digest(self._adapter.json_schema())

    def decode(self, data: bytes) -> T:
        try:
            return self._adapter.validate_json(data)
        except ValidationError as exc:
            raise invalid_model(exc) from None

    def convert(self, value: object) -> T:
        try:
            return self._adapter.validate_python(value)
        except ValidationError as exc:
            raise invalid_model(exc) from None

    def encode(self, value: T) -> bytes:
        return self._adapter.dump_json(value)
