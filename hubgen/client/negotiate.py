"""Negotiate: ``POST {url}/negotiate`` and what the server answers.

Follows the official TypeScript client (``HttpConnection.ts``): the URL's
query is kept and ``negotiateVersion=1`` added unless present; version 0
responses use ``connectionId`` as the transport token; ``{"url": ...}``
redirects are followed (at most 100), and an ``accessToken`` in a redirect
replaces the configured token for the rest of that connection attempt;
``{"error": ...}`` bodies and HTTP failures become :class:`NegotiationError`
with the official texts. A client that wants stateful reconnect asks with
``useStatefulReconnect=true``; a server that offers it to a client that did
not ask is refused, as the official clients refuse it.
"""

from __future__ import annotations

import inspect
import json
import platform
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from hubgen import __version__
from hubgen.client.errors import NegotiationError, exception_text

__all__ = [
    "MAX_REDIRECTS",
    "USER_AGENT",
    "AccessToken",
    "AvailableTransport",
    "NegotiateResponse",
    "Negotiated",
    "connect_url",
    "http_error_text",
    "merge_headers",
    "negotiate",
    "negotiate_url",
    "request_negotiate",
    "resolve_token",
]

#: What ``access_token`` may be: a token, or a (sync or async) function that
#: returns one; called for every negotiate and transport connect.
AccessToken: TypeAlias = str | Callable[[], str | Awaitable[str]] | None

MAX_REDIRECTS: Final = 100

USER_AGENT: Final = (
    f"hubgen/{__version__} "
    f"(Python {platform.python_version()}; {platform.system() or 'Unknown OS'})"
)

_FAILED: Final = "Failed to complete negotiation with the server: "
_NOT_SIGNALR: Final = (
    " Either this is not a SignalR endpoint or there is a proxy blocking the connection."
)
_CLASSIC_SIGNALR: Final = (
    "Detected a connection attempt to an ASP.NET SignalR Server. This client only supports "
    "connecting to an ASP.NET Core SignalR Server. See https://aka.ms/signalr-core-differences "
    "for details."
)


@dataclass(frozen=True, slots=True)
class AvailableTransport:
    """One entry of ``availableTransports``."""

    transport: str
    transfer_formats: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NegotiateResponse:
    """A negotiate response body. For version 0, ``connection_token`` is the
    ``connectionId`` (the official client does the same)."""

    negotiate_version: int = 0
    connection_id: str | None = None
    connection_token: str | None = None
    available_transports: tuple[AvailableTransport, ...] = ()
    url: str | None = None
    access_token: str | None = None
    error: str | None = None
    #: The server agreed to stateful reconnect (the client asked for it).
    use_stateful_reconnect: bool = False


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The outcome of negotiating, redirects followed."""

    #: The hub URL the transport connects to (the last redirect's, if any).
    url: str
    response: NegotiateResponse
    #: The token to use from now on: a redirect's ``accessToken`` if one came.
    access_token: AccessToken


async def resolve_token(source: AccessToken) -> str | None:
    """The current token from ``source`` (calling it if it is a function).

    Raises :class:`TypeError` for a function that returns something else than
    a str (or None), and :class:`ValueError` for a token that cannot travel in
    an HTTP header (not ASCII)."""
    token: str | None
    if source is None or isinstance(source, str):
        token = source
    else:
        value = source()
        if inspect.isawaitable(value):
            value = await value
        if value is not None and not isinstance(value, str):
            raise TypeError(f"access_token must return a str, got {type(value).__name__}")
        token = value
    if token and not token.isascii():
        raise ValueError("the access token must be ASCII: it travels in an Authorization header")
    return token or None


def merge_headers(base: Mapping[str, str], user: Mapping[str, str] | None) -> dict[str, str]:
    """``base`` overridden by ``user``, header names compared ignoring case."""
    if not user:
        return dict(base)
    overridden = {name.lower() for name in user}
    merged = {name: value for name, value in base.items() if name.lower() not in overridden}
    merged.update(user)
    return merged


def negotiate_url(url: str, *, stateful_reconnect: bool = False) -> str:
    """``url`` with ``negotiate`` appended to its path and ``negotiateVersion=1``
    added to its query unless the query already names a version; with
    ``stateful_reconnect``, ``useStatefulReconnect=true`` too, unless the query
    already says whether to use it."""
    parts = urlsplit(url)
    path = parts.path + ("negotiate" if parts.path.endswith("/") else "/negotiate")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name == "negotiateVersion" for name, _ in query):
        query.append(("negotiateVersion", "1"))
    if stateful_reconnect and not any(name == "useStatefulReconnect" for name, _ in query):
        query.append(("useStatefulReconnect", "true"))
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


def _asks_for_stateful_reconnect(url: str) -> bool:
    """Whether a negotiate request to ``url`` asks for stateful reconnect."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return any(name == "useStatefulReconnect" and value == "true" for name, value in query)


def connect_url(url: str, token: str | None) -> str:
    """The transport URL: ``url`` plus ``id=<token>`` (not encoded, as the
    official client sends it; servers issue URL-safe tokens)."""
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}id={token}"


def http_error_text(response: httpx.Response) -> str:
    """The official client's ``HttpError`` text for a failed request: the
    response body, else the reason phrase, then the status code. The body must
    have been read."""
    text = response.text or response.reason_phrase
    return f"{text}: Status code '{response.status_code}'"


def _string(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise NegotiationError(
            f"{_FAILED}Error: '{key}' in the negotiate response must be a string."
        )
    return value


def _transports(value: Any) -> tuple[AvailableTransport, ...]:
    if value is None:
        return ()
    bad = NegotiationError(
        f"{_FAILED}Error: 'availableTransports' in the negotiate response must be a list "
        "of {transport, transferFormats} objects."
    )
    if not isinstance(value, list):
        raise bad
    found: list[AvailableTransport] = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("transport"), str):
            raise bad
        formats = entry.get("transferFormats") or []
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise bad
        found.append(AvailableTransport(entry["transport"], tuple(formats)))
    return tuple(found)


def _parse(content: bytes, *, asked_stateful: bool) -> NegotiateResponse:
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise NegotiationError(
            f"{_FAILED}Error: the negotiate response is not JSON ({exc})."
        ) from exc
    if not isinstance(body, dict):
        raise NegotiationError(f"{_FAILED}Error: the negotiate response is not a JSON object.")
    error = _string(body, "error")
    if error is not None:
        return NegotiateResponse(error=error)
    if "ProtocolVersion" in body:
        raise NegotiationError(_CLASSIC_SIGNALR)
    version = body.get("negotiateVersion")
    version = version if isinstance(version, int) and not isinstance(version, bool) else 0
    connection_id = _string(body, "connectionId")
    token = _string(body, "connectionToken") if version >= 1 else connection_id
    stateful = body.get("useStatefulReconnect") is True
    if stateful and not asked_stateful:
        raise NegotiationError("Client didn't negotiate Stateful Reconnect but the server did.")
    return NegotiateResponse(
        negotiate_version=version,
        connection_id=connection_id,
        connection_token=token,
        available_transports=_transports(body.get("availableTransports")),
        url=_string(body, "url"),
        access_token=_string(body, "accessToken"),
        use_stateful_reconnect=stateful,
    )


async def request_negotiate(
    http: httpx.AsyncClient,
    url: str,
    *,
    access_token: AccessToken,
    headers: Mapping[str, str] | None,
    stateful_reconnect: bool = False,
) -> NegotiateResponse:
    """One negotiate request against the hub at ``url`` (no redirects
    followed); ``stateful_reconnect`` asks for it."""
    base = {"X-Requested-With": "XMLHttpRequest", "User-Agent": USER_AGENT}
    token = await resolve_token(access_token)
    if token:
        base["Authorization"] = f"Bearer {token}"
    target = negotiate_url(url, stateful_reconnect=stateful_reconnect)
    try:
        response = await http.post(target, content=b"", headers=merge_headers(base, headers))
    except httpx.HTTPError as exc:
        raise NegotiationError(f"{_FAILED}Error: {exception_text(exc)}") from exc
    status = response.status_code
    if not 200 <= status < 300:
        message = f"{_FAILED}Error: {http_error_text(response)}"
        raise NegotiationError(message + _NOT_SIGNALR if status == 404 else message)
    if status != 200:
        raise NegotiationError(f"Unexpected status code returned from negotiate '{status}'")
    return _parse(response.content, asked_stateful=_asks_for_stateful_reconnect(target))


async def negotiate(
    http: httpx.AsyncClient,
    url: str,
    *,
    access_token: AccessToken,
    headers: Mapping[str, str] | None,
    stateful_reconnect: bool = False,
) -> Negotiated:
    """Negotiate with the hub at ``url``, following redirects;
    ``stateful_reconnect`` asks for it."""
    redirects = 0
    while True:
        response = await request_negotiate(
            http,
            url,
            access_token=access_token,
            headers=headers,
            stateful_reconnect=stateful_reconnect,
        )
        if response.error is not None:
            raise NegotiationError(response.error)
        if response.url is None:
            return Negotiated(url, response, access_token)
        url = response.url
        if response.access_token:
            access_token = response.access_token
        redirects += 1
        if redirects >= MAX_REDIRECTS:
            raise NegotiationError("Negotiate redirection limit exceeded.")
