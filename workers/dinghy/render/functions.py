"""Dinghy's own template functions: ``module``, ``appModule``, ``local_module``, ``var``,
``pipelineID`` and ``makeSlice``, with Dinghy's rules for the variables they see.

Variables are a stack of maps searched first to last: a module's arguments, then its caller's
arguments, ..., then the dinghyfile's ``globals``. A module argument that is JSON text (``{...}`` or
``[...]``, as the preprocessor quotes them) is decoded; ``var`` gives a list or map back as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.dinghy.gotemplate import Function, FunctionError
from workers.dinghy.gotemplate.evaluate import ANY, STRING
from workers.dinghy.gotemplate.values import go_json, go_json_loads, sprint_value

VarMap = dict[str, Any]


def parse_value(value: Any) -> Any:
    """A module argument: JSON object or array text decoded (numbers as float64), else as given."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return go_json_loads(value)
        except ValueError:
            return value  # Dinghy logs the error and keeps the text
    return value


def render_value(value: Any) -> Any:
    """What ``var`` returns for a stored value: lists and maps as their JSON, the rest as they are."""
    if isinstance(value, (list, dict)):
        return go_json(value)
    return value


def module_arguments(name: str, args: tuple[Any, ...], stack: list[VarMap]) -> VarMap:
    """The variables a module call sets: key/value pairs, JSON decoded, ``"{{var x}}"`` resolved."""
    values = list(args)
    out: VarMap = {}
    for index in range(0, len(values) - 1, 2):
        key = values[index]
        if not isinstance(key, str):
            raise FunctionError(f"dict keys must be strings in module: {name}")
        deep = values[index + 1]
        if isinstance(deep, str) and len(deep) > 6 and deep.startswith("{{var"):
            # Dinghy's "deep variable": the text of a var call passed down; the last layer that has it wins
            for layer in stack:
                if deep[6:-2] in layer:
                    values[index + 1] = parse_value(layer[deep[6:-2]])
        out[key] = parse_value(values[index + 1])
    return out


def var_function(stack: list[VarMap]) -> Function:
    def var(name: str, *default: Any) -> Any:
        for layer in stack:
            if name in layer:
                return render_value(layer[name])
        if default:
            fallback = default[0]
            if isinstance(fallback, str) and fallback.startswith("@"):
                for layer in stack:
                    if fallback[1:] in layer:
                        return render_value(layer[fallback[1:]])
            return fallback
        return ""

    return Function(var, (STRING,), ANY)


def pipeline_id_function(stack: list[VarMap], lookup: Callable[[str, str], str] | None) -> Function:
    def pipeline_id(app: str, name: str) -> str:
        for layer in stack:
            if "triggerApp" in layer:
                app = sprint_value(render_value(layer["triggerApp"]))
            if "triggerPipeline" in layer:
                name = sprint_value(render_value(layer["triggerPipeline"]))
        if lookup is None:
            return ""
        try:
            return lookup(app, name)
        except LookupError:
            return ""  # Dinghy logs "could not get pipeline id" and renders an empty id

    return Function(pipeline_id, (STRING, STRING))


def make_slice() -> Function:
    return Function(lambda *args: list(args), (), ANY)
