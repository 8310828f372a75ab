"""Signing in to the chat: ``POST /login`` hands out a short-lived JSON Web
Token, and the hub accepts connections that carry one.

The token is signed with PyJWT (HS256) and names its user in ``sub``. The
server checks it on negotiate and on every transport request through hubgen's
:class:`~hubgen.server.authentication.BearerAuthBackend`, which reads it from
``Authorization: Bearer`` (the Python client, and the browser's long polling)
or from ``?access_token=`` on the hub's own requests (what browsers send for
WebSockets and Server-Sent Events); :meth:`Tokens.validate` is its validator.

This is a demo, not a user store: anyone who knows the server's shared
passphrase may sign in under any name, including one that is already online.
A real application checks a password or asks an identity provider in
:class:`Login` and keeps the rest as it is.

Configuration, from the environment:

``CHAT_PASSPHRASE``
    The passphrase ``/login`` asks for. Unset, the server makes one up and
    logs it when it starts.
``CHAT_JWT_SECRET``
    The key tokens are signed with, at least 32 bytes. Unset, the server makes
    one up: tokens then stop working when it restarts, which for a demo is
    what you want.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt
from starlette.authentication import SimpleUser
from starlette.requests import Request
from starlette.responses import JSONResponse

from hubgen.server.authentication import Identity

log = logging.getLogger(__name__)

#: The only algorithm tokens are signed and accepted with: pinning it is what
#: stops a token from choosing its own (``none``, or a public key used as an
#: HMAC secret).
ALGORITHM: Final = "HS256"
#: Who the tokens are for; a token minted for another service with the same
#: key is refused.
AUDIENCE: Final = "hubgen-chat"
#: How long a token is good for. Open connections outlive it (as in ASP.NET
#: Core, unless ``HubOptions.close_on_authentication_expiration``); a client
#: that reconnects after it signs in again.
TOKEN_LIFETIME: Final = timedelta(hours=1)
#: HS256 keys shorter than the hash are weak (RFC 7518, section 3.2).
MIN_SECRET_BYTES: Final = 32
#: What a user name may be: a word of up to 32 letters, digits, ``_ . -``
#: (no spaces, so ``/msg name text`` can address anyone).
USER_NAME: Final = re.compile(r"[\w.-]{1,32}")
#: A sign-in request is a name and a passphrase: more is not one.
MAX_BODY_BYTES: Final = 4096


class Tokens:
    """Issues and checks the chat's access tokens."""

    def __init__(self, secret: bytes, *, lifetime: timedelta = TOKEN_LIFETIME) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes, not {len(secret)}"
            )
        self._secret = secret
        self.lifetime = lifetime

    @classmethod
    def from_environment(cls) -> Tokens:
        """Signing with ``CHAT_JWT_SECRET``, or with a key made up for this process."""
        configured = os.environ.get("CHAT_JWT_SECRET")
        if configured is None:
            return cls(secrets.token_bytes(MIN_SECRET_BYTES))
        return cls(configured.encode())

    def issue(self, user: str, *, now: datetime | None = None) -> str:
        """A token for ``user``, good for :attr:`lifetime` from ``now``."""
        issued = now or datetime.now(UTC)
        claims = {"sub": user, "aud": AUDIENCE, "iat": issued, "exp": issued + self.lifetime}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def validate(self, token: str) -> Identity | None:
        """The user ``token`` stands for, or None when it is not one of ours:
        a bad signature, another algorithm, expired, for another audience, or
        missing a claim. ``BearerAuthBackend``'s validator."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "aud", "iat", "exp"]},
            )
        except jwt.InvalidTokenError as exc:
            log.debug("token refused: %s", exc)
            return None
        return Identity(
            SimpleUser(claims["sub"]), expires_at=datetime.fromtimestamp(claims["exp"], UTC)
        )


def passphrase_from_environment() -> str:
    """``CHAT_PASSPHRASE``, or one made up for this process and logged."""
    configured = os.environ.get("CHAT_PASSPHRASE")
    if configured:
        return configured
    made_up = secrets.token_urlsafe(6)
    log.warning(
        "sign in to the chat with any name and the passphrase %s "
        "(set CHAT_PASSPHRASE to choose it)",
        made_up,
    )
    return made_up


class Login:
    """``POST /login`` with ``{"name": ..., "passphrase": ...}``: a token for
    ``name``, in the shape of an OAuth 2 token response::

        {"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 3600, "user": "ann"}

    400 for a body that is not that, 413 for one over 4 KiB, 401 for a wrong
    passphrase."""

    def __init__(self, tokens: Tokens, passphrase: str) -> None:
        self._tokens = tokens
        self._passphrase = passphrase.encode()

    async def handle(self, request: Request) -> JSONResponse:
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                return _error(413, f"a sign-in request is at most {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, 'expected a JSON object: {"name": ..., "passphrase": ...}')
        name, passphrase = body.get("name"), body.get("passphrase")
        if not isinstance(name, str) or USER_NAME.fullmatch(name) is None:
            return _error(400, "a name is 1 to 32 letters, digits, '_', '.' or '-'")
        if not isinstance(passphrase, str):
            return _error(400, "the passphrase is missing")
        # compare_digest: how long the comparison takes says nothing about
        # how much of the passphrase was right
        if not hmac.compare_digest(passphrase.encode(), self._passphrase):
            return _error(401, "wrong passphrase")
        return JSONResponse(
            {
                "access_token": self._tokens.issue(name),
                "token_type": "Bearer",
                "expires_in": int(self._tokens.lifetime.total_seconds()),
                "user": name,
            },
            headers={"Cache-Control": "no-store"},
        )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"Cache-Control": "no-store"}
    )
