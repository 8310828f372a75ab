"""Who may connect to a hub and call its methods: ``@authorize`` and
``@allow_anonymous`` on the hub implementation, as ASP.NET Core's
``[Authorize]`` and ``[AllowAnonymous]`` on a hub class and its methods.

The rules live on the implementation, not in the contract: the contract is
shared with every client and describes what can be called, while who may
call it is the server's business (a client cannot check it, and a rule often
names server-side things, such as a policy function).

* On the hub class, ``@authorize`` is checked when a client negotiates and on
  every request of its transport (a connection token does not bypass it).
  Without a user, the answer is 401; with a user who lacks what it asks, 403.
* On a method, ``@authorize`` is checked on every invocation and stream of it,
  before the arguments are bound and before any hub filter runs; a caller who
  fails it gets ``Failed to invoke 'X' because user is unauthorized`` and its
  connection stays open.
* Rules are inherited: from base hub classes, and from a method's definitions
  in them. ``@allow_anonymous`` anywhere wins over them, as in ASP.NET Core.

The user is Starlette's: whatever the application's ``AuthenticationMiddleware``
put in ``request.user`` and ``request.auth`` (``hubgen.server.authentication``
offers a bearer-token backend that also reads the ``access_token`` query
parameter browsers need).
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.authentication import AuthCredentials, BaseUser, UnauthenticatedUser

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
    from starlette.types import Scope

__all__ = [
    "ANONYMOUS",
    "AuthorizationContext",
    "Policy",
    "Principal",
    "Requirement",
    "Rules",
    "Verdict",
    "allow_anonymous",
    "authorize",
    "credentials_of",
    "hub_rules",
    "method_rules",
    "user_of",
]

logger = logging.getLogger("hubgen.server")

_REQUIRE = "__hubgen_authorize__"
_ANONYMOUS = "__hubgen_allow_anonymous__"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AuthorizationContext:
    """What a policy sees: who asks, for what."""

    #: The authenticated user (``request.user``).
    user: BaseUser
    #: Their credentials (``request.auth``): ``scopes``, and with hubgen's
    #: bearer backend the token's expiry.
    auth: AuthCredentials
    #: The request being authorized: negotiate or a transport request when
    #: connecting, the request that opened the connection for a method.
    request: HTTPConnection
    #: The hub's name.
    hub: str
    #: The method's name (as in the contract), or None when connecting.
    method: str | None


#: A rule of your own: true to allow. May be a coroutine function.
Policy = Callable[[AuthorizationContext], bool | Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``@authorize(...)``: an authenticated user with every scope in
    ``scopes`` whom ``policy`` (if any) allows."""

    scopes: frozenset[str] = frozenset()
    policy: Policy | None = None


class Verdict(enum.Enum):
    ALLOWED = 0
    #: No authenticated user: HTTP 401.
    UNAUTHENTICATED = 401
    #: A user who does not meet a requirement: HTTP 403.
    FORBIDDEN = 403


def authorize(*, scopes: Iterable[str] = (), policy: Policy | None = None) -> Callable[[T], T]:
    """Require an authenticated user on a hub class or a hub method; with
    ``scopes``, one whose credentials hold all of them; with ``policy``, one
    the policy allows. Stack several: all must pass."""
    requirement = Requirement(frozenset(scopes), policy)

    def decorate(target: T) -> T:
        own: tuple[Requirement, ...] = getattr(target, "__dict__", {}).get(_REQUIRE, ())
        setattr(target, _REQUIRE, (*own, requirement))
        return target

    return decorate


def allow_anonymous(target: T) -> T:
    """Let anyone connect to this hub class, or call this method, whatever
    ``@authorize`` it inherits."""
    setattr(target, _ANONYMOUS, True)
    return target


class Rules:
    """The requirements that apply to a hub or to one of its methods."""

    __slots__ = ("hub", "method", "requirements")

    def __init__(self, hub: str, method: str | None, requirements: tuple[Requirement, ...]) -> None:
        self.hub = hub
        self.method = method
        self.requirements = requirements

    async def check(
        self, user: BaseUser, auth: AuthCredentials, request: HTTPConnection
    ) -> Verdict:
        if not user.is_authenticated:
            return Verdict.UNAUTHENTICATED
        held = set(auth.scopes)
        context: AuthorizationContext | None = None
        for requirement in self.requirements:
            if not requirement.scopes <= held:
                return Verdict.FORBIDDEN
            if requirement.policy is None:
                continue
            if context is None:
                context = AuthorizationContext(user, auth, request, self.hub, self.method)
            try:
                allowed = requirement.policy(context)
                if inspect.isawaitable(allowed):
                    allowed = await allowed
            except Exception:
                logger.exception(
                    "authorization policy %r raised (%s%s): refused",
                    requirement.policy,
                    self.hub,
                    "" if self.method is None else f".{self.method}",
                )
                return Verdict.FORBIDDEN
            if not allowed:
                return Verdict.FORBIDDEN
        return Verdict.ALLOWED


def _collect(definitions: Iterable[Any]) -> tuple[Requirement, ...] | None:
    """The requirements on ``definitions`` (classes or functions, most derived
    first; each one's own, not inherited, attributes), or None when there are
    none or one of them allows anonymous callers."""
    found: list[Requirement] = []
    for definition in definitions:
        own = getattr(definition, "__dict__", {})
        if own.get(_ANONYMOUS, False):
            return None
        found.extend(own.get(_REQUIRE, ()))
    return tuple(found) or None


def hub_rules(hub_class: type[Any], hub_name: str) -> Rules | None:
    """The rules for connecting to ``hub_class``: its ``@authorize`` and its
    base classes'; None when there are none."""
    requirements = _collect(hub_class.__mro__)
    return None if requirements is None else Rules(hub_name, None, requirements)


def method_rules(hub_class: type[Any], hub_name: str, method: str) -> Rules | None:
    """The rules for calling ``method``: on its definition and the ones it
    overrides; None when there are none."""
    definitions = [
        klass.__dict__[method] for klass in hub_class.__mro__ if method in klass.__dict__
    ]
    requirements = _collect(definitions)
    return None if requirements is None else Rules(hub_name, method, requirements)


_ANONYMOUS_USER = UnauthenticatedUser()
_NO_CREDENTIALS = AuthCredentials()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a connection belongs to, captured when it is made and fixed for its life."""

    user: BaseUser
    auth: AuthCredentials
    #: What ``clients.user(id)`` addresses it by (the user-id provider's answer).
    user_identifier: str | None

    @property
    def expires_at(self) -> float | None:
        """When the credentials expire (a POSIX timestamp), if they say."""
        expires = getattr(self.auth, "expires_at", None)
        if expires is None:
            return None
        return float(expires.timestamp() if hasattr(expires, "timestamp") else expires)


#: A connection nobody authenticated.
ANONYMOUS = Principal(_ANONYMOUS_USER, _NO_CREDENTIALS, None)


def user_of(scope: Scope) -> BaseUser:
    """``request.user``, or an anonymous user when no authentication
    middleware ran."""
    user = scope.get("user")
    return user if isinstance(user, BaseUser) else _ANONYMOUS_USER


def credentials_of(scope: Scope) -> AuthCredentials:
    """``request.auth``, or no credentials when no authentication middleware ran."""
    auth = scope.get("auth")
    return auth if isinstance(auth, AuthCredentials) else _NO_CREDENTIALS
