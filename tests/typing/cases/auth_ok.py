"""Correct use of authorization, authentication and filters: mypy --strict
accepts every line, and the decorators keep the hub's types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_server import ChatHubBase
from starlette.authentication import SimpleUser
from starlette.requests import HTTPConnection

from hubgen.server import HubOptions, HubRoute
from hubgen.server.authentication import BearerAuthBackend, Identity
from hubgen.server.authorization import AuthorizationContext, allow_anonymous, authorize
from hubgen.server.filters import (
    HubFilter,
    HubInvocationContext,
    HubLifetimeContext,
    NextConnect,
    NextInvoke,
)


def is_admin(context: AuthorizationContext) -> bool:
    return "admin" in context.auth.scopes


async def not_banned(context: AuthorizationContext) -> bool:
    return context.user.display_name != "mallory"


@authorize()
@authorize(scopes=["chat"], policy=not_banned)
class Chat(ChatHubBase):
    @authorize(policy=is_admin)
    async def leave(self, room: str) -> None:
        name: str = self.context.user.display_name
        scopes: list[str] = self.context.auth.scopes
        del name, scopes

    @allow_anonymous
    async def send(self, room: str, text: str) -> ChatMessage:
        raise NotImplementedError

    async def join(self, room: str) -> list[ChatMessage]:
        return []

    async def send_private(self, to_user: str, text: str) -> PrivateMessage:
        raise NotImplementedError

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        return []

    async def members(self, room: str) -> list[str]:
        return [self.context.user_identifier or "anonymous"]


class Audit(HubFilter):
    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        return await call_next(context)

    async def on_connected(self, context: HubLifetimeContext, call_next: NextConnect) -> None:
        await call_next(context)


def user_id(request: HTTPConnection) -> str | None:
    return None


def validate(token: str) -> Identity | None:
    return Identity(SimpleUser(token), scopes=["chat"], expires_at=datetime.now(UTC))


async def validate_async(token: str) -> Identity | None:
    return None


route: HubRoute[Chat] = HubRoute(
    "/chat",
    Chat,
    options=HubOptions(filters=(Audit(),), user_id_provider=user_id),
    filters=[Audit()],
)
backends = [BearerAuthBackend(validate, hubs=[route]), BearerAuthBackend(validate_async)]
