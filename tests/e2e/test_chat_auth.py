"""The chat example's sign-in: ``POST /login`` issues a JWT (PyJWT, HS256),
and the hub refuses every token that is not one of those, unexpired, at
negotiate (401) — whether it comes in the Authorization header or as the
``access_token`` query parameter browsers use."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from chat.auth import AUDIENCE, Tokens
from chat.server import create_app

from hubgen.client import HubConnection, NegotiationError
from tests.e2e.chat_support import PASSPHRASE, chat_app
from tests.support.server import serve

SECRET = b"a test secret: HS512 wants a 64-byte key and HS256 a 32-byte one."


def claims(**changes: object) -> dict[str, object]:
    """Good claims for ``mallory``, with ``changes`` (None removes a claim)."""
    now = datetime.now(UTC)  # when the test runs: the suite may take longer than a token lives
    base: dict[str, object] = {
        "sub": "mallory",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def tampered() -> str:
    """A good token for mallory whose payload then says alice."""
    header, payload, signature = Tokens(SECRET).issue("mallory").split(".")
    padded = payload + "=" * (-len(payload) % 4)
    forged = json.loads(base64.urlsafe_b64decode(padded)) | {"sub": "alice"}
    encoded = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


#: Tokens the server must refuse, each for one reason.
REFUSED: dict[str, Callable[[], str]] = {
    "expired": lambda: Tokens(SECRET).issue("mallory", now=datetime.now(UTC) - timedelta(hours=2)),
    "signed with another key": lambda: Tokens(b"x" * 32).issue("mallory"),
    "alg none": lambda: jwt.encode(claims(), None, algorithm="none"),
    "another algorithm with the same key": lambda: jwt.encode(claims(), SECRET, "HS512"),
    "another audience": lambda: jwt.encode(claims(aud="billing"), SECRET, "HS256"),
    "no expiry": lambda: jwt.encode(claims(exp=None), SECRET, "HS256"),
    "no subject": lambda: jwt.encode(claims(sub=None), SECRET, "HS256"),
    "payload changed after signing": tampered,
    "not a JWT": lambda: "hello",
}


async def negotiate(http: httpx.AsyncClient, base_url: str, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await http.post(f"{base_url}/chat/negotiate?negotiateVersion=1", headers=headers)


async def test_signing_in_issues_a_short_lived_token() -> None:
    tokens = Tokens(SECRET)
    async with serve(chat_app(tokens=tokens)) as base_url, httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/login", json={"name": "ann", "passphrase": PASSPHRASE}
        )
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body.keys() == {"access_token", "token_type", "expires_in", "user"}
        assert (body["token_type"], body["expires_in"], body["user"]) == ("Bearer", 3600, "ann")
        token = body["access_token"]
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
        assert decoded["sub"] == "ann"
        assert decoded["exp"] - decoded["iat"] == 3600
        identity = tokens.validate(token)
        assert identity is not None
        assert identity.user.display_name == "ann"
        assert identity.expires_at == datetime.fromtimestamp(decoded["exp"], UTC)

        assert (await negotiate(http, base_url, token)).status_code == 200
        # browsers send it in the query string on WebSockets and Server-Sent Events
        by_query = await http.post(
            f"{base_url}/chat/negotiate", params={"negotiateVersion": 1, "access_token": token}
        )
        assert by_query.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"name": "ann", "passphrase": "guess"}, 401, "wrong passphrase"),
        ({"name": "ann"}, 400, "the passphrase is missing"),
        ({"name": "ann smith", "passphrase": PASSPHRASE}, 400, "a name is 1 to 32"),
        ({"name": "a" * 33, "passphrase": PASSPHRASE}, 400, "a name is 1 to 32"),
        ({"name": "", "passphrase": PASSPHRASE}, 400, "a name is 1 to 32"),
        ({"passphrase": PASSPHRASE}, 400, "a name is 1 to 32"),
        (["ann", PASSPHRASE], 400, "expected a JSON object"),
        ("name=ann", 400, "expected a JSON object"),
        ("", 400, "expected a JSON object"),
        ("x" * 5000, 413, "at most 4096 bytes"),
    ],
)
async def test_signing_in_refuses_bad_requests(body: object, status: int, error: str) -> None:
    async with serve(chat_app()) as base_url, httpx.AsyncClient() as http:
        if isinstance(body, str):  # not JSON at all
            response = await http.post(f"{base_url}/login", content=body)
        else:
            response = await http.post(f"{base_url}/login", json=body)
        assert response.status_code == status
        assert error in response.json()["error"]
        assert "access_token" not in response.text


async def test_the_hub_refuses_connections_without_a_valid_token() -> None:
    async with serve(chat_app(tokens=Tokens(SECRET))) as base_url, httpx.AsyncClient() as http:
        refused = await negotiate(http, base_url, None)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        for reason, make in REFUSED.items():
            token = make()
            response = await negotiate(http, base_url, token)
            assert response.status_code == 401, reason
            by_query = await http.post(
                f"{base_url}/chat/negotiate", params={"negotiateVersion": 1, "access_token": token}
            )
            assert by_query.status_code == 401, reason
        # the same claims, signed properly, are fine: each token above is
        # refused for its one flaw
        good = jwt.encode(claims(), SECRET, algorithm="HS256")
        assert (await negotiate(http, base_url, good)).status_code == 200

        with pytest.raises(NegotiationError, match="401"):
            async with HubConnection(f"{base_url}/chat"):
                pass
        with pytest.raises(NegotiationError, match="401"):
            async with HubConnection(f"{base_url}/chat", access_token=REFUSED["expired"]()):
                pass


def test_the_validator_refuses_each_flawed_token() -> None:
    tokens = Tokens(SECRET)
    for reason, make in REFUSED.items():
        assert tokens.validate(make()) is None, reason
    assert tokens.validate(jwt.encode(claims(), SECRET, algorithm="HS256")) is not None


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_JWT_SECRET", SECRET.decode())
    # two processes with one secret accept each other's tokens
    token = Tokens.from_environment().issue("ann")
    assert Tokens.from_environment().validate(token) is not None
    assert Tokens(SECRET).validate(token) is not None
    monkeypatch.delenv("CHAT_JWT_SECRET")
    assert Tokens.from_environment().validate(token) is None  # a key of its own
    monkeypatch.setenv("CHAT_JWT_SECRET", "too short")
    with pytest.raises(ValueError, match="at least 32 bytes, not 9"):
        Tokens.from_environment()


async def test_without_a_configured_passphrase_the_server_makes_one_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CHAT_PASSPHRASE", raising=False)
    with caplog.at_level(logging.WARNING, logger="chat.auth"):
        app = create_app()
    [record] = [r for r in caplog.records if r.name == "chat.auth"]
    assert "sign in to the chat with any name and the passphrase" in record.getMessage()
    made_up = record.args[0] if isinstance(record.args, tuple) else None
    assert isinstance(made_up, str)
    assert len(made_up) >= 8
    async with serve(app) as base_url, httpx.AsyncClient() as http:
        ok = await http.post(f"{base_url}/login", json={"name": "ann", "passphrase": made_up})
        assert ok.status_code == 200
        refused = await http.post(f"{base_url}/login", json={"name": "ann", "passphrase": ""})
        assert refused.status_code == 401

    monkeypatch.setenv("CHAT_PASSPHRASE", "from the environment")
    async with serve(create_app()) as base_url, httpx.AsyncClient() as http:
        ok = await http.post(
            f"{base_url}/login", json={"name": "ann", "passphrase": "from the environment"}
        )
        assert ok.status_code == 200


async def test_tokens_in_urls_stay_out_of_the_access_log() -> None:
    """Browsers put the token in the URL: the server's access log must not show it."""
    access = logging.getLogger("uvicorn.access")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    level = access.level
    try:
        async with serve(chat_app()) as base_url, httpx.AsyncClient() as http:
            # serve() started uvicorn logging warnings only: log access too
            access.addHandler(handler)
            access.setLevel(logging.INFO)
            await http.post(
                f"{base_url}/chat/negotiate",
                params={"negotiateVersion": 1, "access_token": "eyJ.secret.token"},
            )
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    [line] = [line for line in seen if "/chat/negotiate" in line]
    assert "access_token=[redacted]" in line
    assert "secret" not in line
