"""Misuse of authorization, authentication and filters: each line carrying
an error mark must be a mypy error containing the mark's text."""

from __future__ import annotations

from typing import Any

from chat.generated.chat_hub_server import ChatHubBase

from hubgen.server import HubOptions, HubRoute
from hubgen.server.authentication import BearerAuthBackend, Identity
from hubgen.server.authorization import AuthorizationContext, authorize
from hubgen.server.filters import HubFilter, HubInvocationContext, NextConnect, NextInvoke


def wrong_policy(user: str) -> bool:
    return True


@authorize(scopes="chat", policy=wrong_policy)  # E: Argument "policy" to "authorize" has incompatible type
class Chat(ChatHubBase):
    @authorize(policy=lambda context: context.usr)  # E: "AuthorizationContext" has no attribute "usr"
    async def leave(self, room: str) -> None:
        pass


class NoNext(HubFilter):
    async def invoke(self, context: HubInvocationContext) -> Any:  # E: Signature of "invoke" incompatible with supertype
        return None


class WrongContext(HubFilter):
    async def on_connected(self, context: HubInvocationContext, call_next: NextConnect) -> None:  # E: Argument 1 of "on_connected" is incompatible with supertype
        pass


class NotAsync(HubFilter):
    def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> str:  # E: Return type "str" of "invoke" incompatible
        return "not awaitable"


options = HubOptions(filters=(NoNext, WrongContext()))  # E: Argument "filters" to "HubOptions" has incompatible type
route = HubRoute("/chat", Chat, filters=[object()])  # E: List item 0 has incompatible type "object"


def returns_a_name(token: str) -> str:
    return token


backend = BearerAuthBackend(returns_a_name)  # E: Argument 1 to "BearerAuthBackend" has incompatible type
identity = Identity("alice")  # E: Argument 1 to "Identity" has incompatible type "str"
uses = AuthorizationContext
