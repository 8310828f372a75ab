"""Naming overrides: method wire names, field aliases, a hub name, preserve policies."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

import hubgen


class Profile(BaseModel):
    user_name: str
    display_name: str = Field(alias="displayName")
    e_mail: str = Field(alias="email-address")


class ProfileClient(Protocol):
    @hubgen.method(name="profile-updated")
    async def profile_updated(self, profile: Profile) -> None: ...


@hubgen.hub(client=ProfileClient, name="Profiles")
class ProfileHub(Protocol):
    @hubgen.method(name="get_profile_v2")
    async def get_profile(self, user_id: int) -> Profile: ...

    async def update_profile(self, profile: Profile) -> None: ...
