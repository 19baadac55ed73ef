"""identity's client: its REST endpoints, each a request built and an answer decoded into
``clients.identity_values``' types.

Compiled: a method is a coroutine layer of every call it makes, resumed at each of the call's waits.
"""

from __future__ import annotations

from collections.abc import Sequence

from clients.codec import StructCodec
from clients.errors import UpstreamStatusError
from clients.identity_values import IdentityOrg, IdentityUser, MembersPage, OrgList, UserList
from clients.rest import RestClient

_USERS = StructCodec(UserList)
_ORGS = StructCodec(OrgList)
_USER = StructCodec(IdentityUser)
_MEMBERS = StructCodec(MembersPage)


class IdentityClient:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.name = rest.name

    async def users_by_ids(self, ids: Sequence[str]) -> dict[str, IdentityUser]:
        page = await self.rest.get("/v1/users", _USERS, params={"ids": ",".join(ids)})
        return {user.id: user for user in page.data}

    async def orgs_by_ids(self, ids: Sequence[str]) -> dict[str, IdentityOrg]:
        page = await self.rest.get("/v1/orgs", _ORGS, params={"ids": ",".join(ids)})
        return {org.id: org for org in page.data}

    async def members(self, org_id: str, *, limit: int, cursor: str | None) -> MembersPage | None:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        try:
            return await self.rest.get("/v1/orgs/{org_id}/members", _MEMBERS, path={"org_id": org_id}, params=params)
        except UpstreamStatusError as exc:
            if exc.status == 404:
                return None
            raise

    async def update_user(self, user_id: str, *, changes: dict[str, str], if_match: str) -> IdentityUser:
        return await self.rest.call(
            "PATCH",
            "/v1/users/{user_id}",
            _USER,
            path={"user_id": user_id},
            json_body=changes,
            headers={"If-Match": f'"{if_match}"'},
        )
