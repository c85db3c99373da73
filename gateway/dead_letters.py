"""``/dlq``: see why messages were dead-lettered and put them back once the cause is fixed.

The same operations as ``gennaker dlq list|show|replay``, over HTTP, backed by
:meth:`bus.Bus.dead_letters` and :meth:`bus.Bus.replay`. Admins only: a dead letter is any
service's message in full (any application's pipeline, trigger and context), and replaying one
makes a service act on it again, so every route answers 403 to anybody else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal, Self

from aiohttp import web
from pydantic import Field, RootModel, model_validator

from bus import DeadLetter
from gateway.access import require_admin
from gateway.api_model import ApiModel, json_reply
from gateway.errors import ErrorBody, NotFound
from gateway.gate_api import SpinnakerError
from gateway.keys import BUS
from gateway.routing import Response, Route, read_body
from schemas.secrets import redact


class DeadLetterSummary(ApiModel):
    """One dead letter in a list: enough to decide which to look at."""

    id: str
    queue: str
    reason: str
    dead_at: datetime
    attempts: int
    external: bool = Field(
        default=False, description="An outsider published it; a replay sends it back as an outsider's message"
    )

    @classmethod
    def of(cls, letter: DeadLetter) -> Self:
        """Summarise ``letter``."""
        return cls(
            id=letter.id,
            queue=letter.queue,
            reason=letter.reason,
            dead_at=letter.dead_at,
            attempts=letter.attempts,
            external=letter.external,
        )


class DeadLetterList(RootModel[list[DeadLetterSummary]]):
    """Every dead letter, oldest first."""


class DeadLetterDetail(DeadLetterSummary):
    """One dead letter in full: the traceback and the body as text (undecodable bytes escaped;
    secrets in a JSON body shown as their marker)."""

    traceback: str | None = None
    body: str


class ReplayDeadLetters(ApiModel):
    """Which dead letters to replay: ``{"ids": [...]}`` or ``{"all": true}``."""

    ids: list[str] | None = Field(default=None, min_length=1, description="Dead letter ids, from GET /dlq")
    all: Literal[True] | None = Field(default=None, description="Replay every dead letter")

    @model_validator(mode="after")
    def _exactly_one_choice(self) -> Self:
        if (self.ids is None) == (self.all is None):
            raise ValueError('give either "ids": [...] or "all": true')
        return self


class ReplayResult(ApiModel):
    """How many dead letters went back on their queues, and which asked-for ids were not found."""

    replayed: int
    not_found: list[str] = Field(default_factory=list)


def _shown(body: str) -> str:
    """The body as text with its secrets hidden when it is JSON (a replay sends the stored bytes)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    return json.dumps(redact(parsed), separators=(",", ":"))


async def list_dead_letters(request: web.Request) -> web.Response:
    """Every dead letter, oldest first."""
    require_admin(request, "the dead letters")
    letters = await request.app[BUS].dead_letters()
    return json_reply(DeadLetterList([DeadLetterSummary.of(letter) for letter in letters]))


async def show_dead_letter(request: web.Request) -> web.Response:
    """One dead letter with its traceback and body."""
    require_admin(request, "the dead letters")
    wanted = request.match_info["id"]
    for letter in await request.app[BUS].dead_letters():
        if letter.id == wanted:
            summary = DeadLetterSummary.of(letter).model_dump()
            return json_reply(DeadLetterDetail(**summary, traceback=letter.traceback, body=_shown(letter.body_text())))
    raise NotFound(f"no dead letter {wanted!r}; GET /dlq lists them")


async def replay_dead_letters(request: web.Request) -> web.Response:
    """Put the chosen dead letters back on the queues they failed on."""
    require_admin(request, "the dead letters")
    choice = await read_body(request, ReplayDeadLetters)
    bus = request.app[BUS]
    if choice.ids is None:
        return json_reply(ReplayResult(replayed=await bus.replay()))
    known = {letter.id for letter in await bus.dead_letters()}
    replayed = await bus.replay(choice.ids)
    return json_reply(ReplayResult(replayed=replayed, not_found=[id for id in choice.ids if id not in known]))


ROUTES = (
    Route(
        "GET",
        "/dlq",
        list_dead_letters,
        summary="List dead letters",
        tag="dead letters",
        responses={
            200: Response("Every dead letter, oldest first", DeadLetterList),
            403: Response("The caller is not an admin", SpinnakerError),
        },
    ),
    Route(
        "GET",
        "/dlq/{id}",
        show_dead_letter,
        summary="Show one dead letter with its traceback and body",
        tag="dead letters",
        responses={
            200: Response("The dead letter", DeadLetterDetail),
            403: Response("The caller is not an admin", SpinnakerError),
            404: Response("No dead letter has this id", ErrorBody),
        },
    ),
    Route(
        "POST",
        "/dlq/replay",
        replay_dead_letters,
        summary="Replay dead letters onto the queues they failed on",
        tag="dead letters",
        body=ReplayDeadLetters,
        responses={
            200: Response("How many were replayed", ReplayResult),
            400: Response("Neither or both of ids and all were given", ErrorBody),
            403: Response("The caller is not an admin", SpinnakerError),
        },
    ),
)
