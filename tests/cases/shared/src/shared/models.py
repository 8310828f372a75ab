"""Models shared by both hubs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Event(BaseModel):
    """Something that happened."""

    name: str
    at: datetime
    attempts: int = 1
