"""The base of every method's params model: unknown fields and loose types are refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

SessionId = Annotated[str, Field(min_length=1, max_length=64)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(Params):
    pass


class SessionParams(Params):
    """A live session of this gateway, by the id `session.create` or `session.resume` gave."""

    session_id: SessionId
