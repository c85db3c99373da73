"""The base of every JSON body the gateway reads or writes, and the one way it writes them.

Gate's JSON is camelCase while our Python is snake_case: :class:`ApiModel` maps one to the other,
so a model's fields read naturally in code and its wire shape matches Spinnaker clients.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A request or response body: camelCase on the wire, either spelling accepted on input."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


def json_reply(body: BaseModel, *, status: int = 200) -> web.Response:
    """Serialise ``body`` by alias, leaving out unset optional fields (``None``)."""
    return web.json_response(text=body.model_dump_json(by_alias=True, exclude_none=True), status=status)
