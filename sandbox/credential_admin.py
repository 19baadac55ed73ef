"""Admin endpoints that rotate the credentials an upstream accepts (`/_sandbox/rotate`).

Bodies carry the new value; responses and stats only ever name key ids (`k1`, `k2`, ...).
"""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.keyring import RotatingSecret
from sandbox.upstream import UPSTREAM_KEY, json_response

M = TypeVar("M", bound=BaseModel)


class _Rotate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credential: str
    value: str = Field(min_length=1, repr=False)
    overlap_s: float = Field(default=0, ge=0, le=86_400)


class _EndOverlap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credential: str


def add_credential_routes(app: web.Application) -> None:
    app.router.add_post("/_sandbox/rotate", _rotate)
    app.router.add_post("/_sandbox/end-overlap", _end_overlap)


async def _rotate(request: web.Request) -> web.Response:
    parsed = await _parse(request, _Rotate)
    if isinstance(parsed, web.Response):
        return parsed
    ring = _keyring(request, parsed.credential)
    if isinstance(ring, web.Response):
        return ring
    return json_response({"credential": parsed.credential, **ring.rotate(parsed.value, overlap_s=parsed.overlap_s)})


async def _end_overlap(request: web.Request) -> web.Response:
    parsed = await _parse(request, _EndOverlap)
    if isinstance(parsed, web.Response):
        return parsed
    ring = _keyring(request, parsed.credential)
    if isinstance(ring, web.Response):
        return ring
    ring.end_overlap()
    return json_response({"credential": parsed.credential, "active": [key_id for key_id, _ in ring.active()]})


async def _parse(request: web.Request, model: type[M]) -> M | web.Response:
    try:
        return model.model_validate(await request.json())
    except json.JSONDecodeError:
        return _invalid("Body must be JSON.")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors())
        return _invalid(problems)


def _keyring(request: web.Request, credential: str) -> RotatingSecret | web.Response:
    keyrings = request.app[UPSTREAM_KEY].keyrings
    ring = keyrings.get(credential)
    if ring is None:
        return _invalid(f"Unknown credential {credential!r}; this upstream has: {', '.join(sorted(keyrings))}.")
    return ring


def _invalid(message: str) -> web.Response:
    return json_response({"error": {"code": "invalid_request", "message": message}}, status=400)
