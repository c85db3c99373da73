"""A trigger's parameters checked against the pipeline's ``parameterConfig``, as Orca checks them.

A parameter the trigger leaves out takes its ``default``; a ``required`` one without a value (or
with ``""``) is refused, as is a value outside the parameter's ``options`` when it has them
(``hasOptions``). Either refusal is a 400 naming the parameter (``field``: ``parameters.env``).
Parameters the config does not declare are passed on unchanged.
"""

from __future__ import annotations

from gateway.gate_api import GateError
from schemas.json_types import Json


def _options(config: Json) -> list[str] | None:
    """The values a parameter allows, or ``None`` when it allows any."""
    options = [option.get("value") for option in config.get("options") or [] if isinstance(option, dict)]
    values = [str(value) for value in options if value not in (None, "")]
    has_options = config.get("hasOptions")
    if has_options is False or not values:
        return None
    return values


def resolve_parameters(pipeline: Json, given: object) -> Json:
    """The trigger's parameters with defaults applied; :class:`GateError` (400) naming a missing
    required parameter or a value not among a parameter's options."""
    if given is not None and not isinstance(given, dict):
        raise GateError(400, "parameters must be a JSON object of name to value", field="parameters")
    parameters: Json = dict(given or {})
    for config in pipeline.get("parameterConfig") or []:
        if not isinstance(config, dict) or not isinstance(config.get("name"), str):
            continue
        name: str = config["name"]
        if parameters.get(name) is None and config.get("default") not in (None, ""):
            parameters[name] = config["default"]
        value = parameters.get(name)
        if config.get("required") is True and value in (None, ""):
            raise GateError(400, f"the required parameter {name!r} has no value; set it", field=f"parameters.{name}")
        allowed = _options(config)
        if allowed is not None and value not in (None, "") and str(value) not in allowed:
            raise GateError(
                400,
                f"parameter {name!r} is {value!r}; it must be one of {', '.join(allowed)}",
                field=f"parameters.{name}",
            )
        if name not in parameters and "default" in config:
            parameters[name] = config["default"]
    return parameters
