"""Errors shared by the server and client runtimes."""

from __future__ import annotations

__all__ = ["HubError"]


class HubError(Exception):
    """An error whose message is meant for the other side of the connection.

    Raised in a hub method, its message reaches the caller even when detailed
    errors are off (ASP.NET Core's ``HubException``). Raised by a client call,
    it carries the error text the server sent in its completion.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
