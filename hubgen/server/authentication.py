"""Bearer tokens for hubs: a Starlette authentication backend that also reads
the ``access_token`` query parameter on hub requests.

Browsers cannot set headers on WebSocket and EventSource requests, so the
official SignalR clients send their token as ``?access_token=`` on those (and
in the ``Authorization`` header everywhere else). :class:`BearerAuthBackend`
reads both, the query parameter only on the hubs' own paths, and hands the
token to a validator the application supplies::

    def validate(token: str) -> Identity | None:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])   # PyJWT
        return Identity(SimpleUser(claims["sub"]), scopes=claims.get("scope", "").split())

    hub = HubRoute("/chat", ChatHub)
    backend = BearerAuthBackend(validate, hubs=[hub])
    app = Starlette(
        routes=[hub], middleware=[Middleware(AuthenticationMiddleware, backend=backend)]
    )

hubgen never logs a token. A server's access log does log URLs, query
included: run uvicorn with ``--no-access-log``, or add :class:`RedactAccessToken`
to the ``uvicorn.access`` logger.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.routing import Match

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
    from starlette.routing import BaseRoute

__all__ = ["BearerAuthBackend", "Identity", "RedactAccessToken", "TokenCredentials", "Validator"]

logger = logging.getLogger("hubgen.server")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token stands for: the user, the scopes it grants, and when
    it expires (aware; what ``HubOptions.close_on_authentication_expiration``
    closes connections at)."""

    user: BaseUser
    scopes: Sequence[str] = ()
    expires_at: datetime | None = None


class TokenCredentials(AuthCredentials):
    """``request.auth`` for a bearer token: its scopes, and its expiry."""

    def __init__(self, scopes: Sequence[str] = (), expires_at: datetime | None = None) -> None:
        super().__init__(list(scopes))
        self.expires_at = expires_at


#: Token → identity, or None for a token that is not valid (raising counts as
#: not valid too). May be a coroutine function.
Validator = Callable[[str], Identity | Awaitable[Identity | None] | None]


class BearerAuthBackend(AuthenticationBackend):
    """Authenticates ``Authorization: Bearer <token>`` on every request, and
    ``?access_token=<token>`` on requests to ``hubs`` (negotiate and the
    transports). A missing or invalid token leaves the request anonymous:
    whatever requires a user then answers 401."""

    def __init__(self, validate: Validator, *, hubs: Iterable[BaseRoute] = ()) -> None:
        self._validate = validate
        self._hubs = tuple(hubs)

    def _token(self, conn: HTTPConnection) -> str | None:
        header = conn.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        query = conn.query_params.get("access_token")
        if query and any(hub.matches(conn.scope)[0] is Match.FULL for hub in self._hubs):
            return query
        return None

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        token = self._token(conn)
        if token is None:
            return None
        try:
            identity = self._validate(token)
            if inspect.isawaitable(identity):
                identity = await identity
        except Exception as exc:  # the validator's way of saying "not valid"
            logger.debug("bearer token refused: %s", type(exc).__name__)
            return None
        if identity is None:
            logger.debug("bearer token refused by the validator")
            return None
        return TokenCredentials(identity.scopes, identity.expires_at), identity.user


_ACCESS_TOKEN = re.compile(r"(?i)((?:^|[?&])access_token=)[^&#\s\"]*")


def redact(text: str) -> str:
    """``text`` with the value of every ``access_token`` query parameter
    replaced by ``[redacted]``."""
    return _ACCESS_TOKEN.sub(r"\1[redacted]", text)


class RedactAccessToken(logging.Filter):
    """A logging filter that removes ``access_token`` values from log records
    (message and arguments), for the access log of the server that runs the
    hubs::

        logging.getLogger("uvicorn.access").addFilter(RedactAccessToken())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
