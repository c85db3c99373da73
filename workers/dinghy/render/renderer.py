"""Renders a dinghyfile as Dinghy's parser does: preprocess, read globals, run the template with
Dinghy's functions and sprig's, modules rendered the same way with the variables stacked.

Files come from :class:`FileSource` (a directory, a git checkout), so the CLI and the worker render
alike. The result is the text before Dinghy's JSON unmarshalling, and the template repository's
modules it used (the dependency graph's edges).
"""

from __future__ import annotations

import bisect
import json
import posixpath
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from workers.dinghy.gotemplate import SPRIG, Function, FunctionError, GoStruct, Limits, Template, TemplateError
from workers.dinghy.gotemplate.evaluate import ANY
from workers.dinghy.gotemplate.values import go_json_loads
from workers.dinghy.render.functions import (
    VarMap,
    make_slice,
    module_arguments,
    pipeline_id_function,
    var_function,
)
from workers.dinghy.render.preprocessor import preprocess

MAX_MODULE_DEPTH = 20
MAX_MODULE_BYTES = 1024 * 1024


class RenderError(Exception):
    """A dinghyfile that cannot be rendered: the message names the file, line and column."""


class FileSource(Protocol):
    """The files of one repository at one branch."""

    @property
    def repo(self) -> str:
        """``org/repo``, as the dependency graph names the repository."""
        ...

    @property
    def branch(self) -> str: ...

    def read(self, path: str) -> str:
        """The file's text; :class:`FileNotFoundError` when the branch has no such file."""
        ...


@dataclass(frozen=True)
class DirectorySource:
    """A directory standing for a repository (``--modules DIR``, a git work tree)."""

    root: Path
    repo: str
    branch: str = "master"

    def read(self, path: str) -> str:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root.resolve()) or not target.is_file():
            raise FileNotFoundError(path)
        if target.stat().st_size > MAX_MODULE_BYTES:
            raise RenderError(f"{path} is larger than {MAX_MODULE_BYTES} bytes")
        return target.read_text(encoding="utf-8")


@dataclass
class Rendered:
    """A render: the text, and the template repository's modules it read (transitively)."""

    text: str
    modules: set[str] = field(default_factory=set)
    local_modules: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Renderer:
    """Dinghy's parser for one template repository (``modules``; ``None``: templateOrg not configured)."""

    modules: FileSource | None
    pipeline_id: Callable[[str, str], str] | None = None
    dinghyfile_name: str = "dinghyfile"
    limits: Limits = field(default_factory=Limits)

    def render(self, source: FileSource, path: str, raw_data: dict[str, Any] | None = None) -> Rendered:
        """Render ``path`` of ``source``; :class:`RenderError` says what was wrong and where."""
        try:
            text = source.read(path)
        except FileNotFoundError:
            raise RenderError(f"{path} not found on branch '{source.branch}'") from None
        rendered = Rendered("")
        try:
            rendered.text = self._file(rendered, source, path, text, [], raw_data or {}, 0)
        except TemplateError as error:
            raise RenderError(str(error)) from None
        return rendered

    def render_text(self, source: FileSource, path: str, text: str, raw_data: dict[str, Any] | None = None) -> Rendered:
        """Render ``text`` as if it were ``path`` of ``source`` (a file not yet committed)."""
        rendered = Rendered("")
        try:
            rendered.text = self._file(rendered, source, path, text, [], raw_data or {}, 0)
        except TemplateError as error:
            raise RenderError(str(error)) from None
        return rendered

    def _file(
        self,
        rendered: Rendered,
        source: FileSource,
        path: str,
        text: str,
        stack: list[VarMap],
        raw_data: dict[str, Any],
        depth: int,
    ) -> str:
        org, _, repo = source.repo.partition("/")
        data = GoStruct(
            "git.GitInfo", {"RawData": raw_data, "Org": org, "Repo": repo, "Path": path, "Branch": source.branch}
        )
        processed = preprocess(text, path)
        is_dinghyfile = posixpath.basename(path) == self.dinghyfile_name
        if is_dinghyfile:
            try:
                found = global_variables(processed.text, path, data)
            except TemplateError as error:
                raise processed.relocate(error) from None
            if found:
                stack = [*stack, found]
        is_template_module = (
            self.modules is not None and source.repo == self.modules.repo and not is_dinghyfile and depth > 0
        )

        def module_call(module_source: FileSource | None, local: bool) -> Callable[..., str]:
            def call(name: str, *args: Any) -> str:
                if local and is_template_module:
                    raise FunctionError(f"{name} is a local_module, calling local_module from a module is not allowed")
                if module_source is None:
                    raise FunctionError(f"Cannot load module {name}; templateOrg not configured")
                if depth + 1 > MAX_MODULE_DEPTH:
                    raise FunctionError(f"modules nested deeper than {MAX_MODULE_DEPTH}: does {name} include itself?")
                (rendered.local_modules if local else rendered.modules).add(name)
                variables = module_arguments(name, args, stack)
                try:
                    module_text = module_source.read(name)
                except FileNotFoundError:
                    raise FunctionError(
                        f"error rendering imported module '{name}': "
                        f"module '{name}' not found on branch '{module_source.branch}'"
                    ) from None
                try:
                    return self._file(
                        rendered, module_source, name, module_text, [variables, *stack], raw_data, depth + 1
                    )
                except TemplateError as error:
                    raise FunctionError(f"error rendering imported module '{name}': {error}") from None

            return call

        functions: dict[str, Function] = {
            **SPRIG,
            "module": Function(module_call(self.modules, False), ("string",), ANY),
            "appModule": Function(module_call(self.modules, False), ("string",), ANY),
            "local_module": Function(module_call(source, True), ("string",), ANY),
            "var": var_function(stack),
            "pipelineID": pipeline_id_function(stack, self.pipeline_id),
            "makeSlice": make_slice(),
        }
        try:
            template = Template.parse(path, processed.text, functions)
            return template.execute(data, self.limits)
        except TemplateError as error:
            raise processed.relocate(error) from None


def _blank(text: str) -> Callable[..., str]:
    return lambda *args: text


def global_variables(processed: str, path: str, data: GoStruct) -> VarMap:
    """Dinghy's ``ParseGlobalVars``: the dinghyfile with every call blanked out, read as JSON for ``globals``.

    As in Dinghy, a file that cannot be read so (its shape is not JSON even with the calls blanked
    out) is refused, with where the JSON broke. Unlike Dinghy, a template that fails here (an unknown
    function, a bad field) is refused with that error rather than with the JSON error of its raw text.
    """
    blanks: dict[str, Function] = {name: Function(_blank("[]"), (), ANY) for name in SPRIG}
    blanks.update(
        {
            "module": Function(_blank('{ "a": "b" }'), (), ANY),
            "local_module": Function(_blank('{ "a": "b" }'), (), ANY),
            "appModule": Function(_blank('"a": "b"'), (), ANY),
            "var": Function(_blank("1"), (), ANY),
            "pipelineID": Function(_blank("1"), (), ANY),
            "makeSlice": Function(_blank("[]"), (), ANY),
        }
    )
    # Dinghy reads the raw text as JSON when the blanked render fails, and so reports a JSON error
    # for what is a template error; the template's own error says what is wrong, so it is raised.
    trace: list[tuple[int, int]] = []
    blanked = Template.parse(path, processed, blanks).execute(data, trace=trace)
    try:
        document = json.loads(blanked)
    except json.JSONDecodeError as error:
        raise TemplateError(
            path,
            error.lineno,
            error.colno,
            f"malformed JSON reading the dinghyfile's globals (its calls blanked out): {error.msg}",
            _offset_of(trace, error.pos),
        ) from None
    if not isinstance(document, dict):
        raise TemplateError(path, 1, 1, "a dinghyfile must be a JSON object", 0)
    found = document.get("globals", {})
    if not isinstance(found, dict):
        raise TemplateError(path, 1, 1, "could not extract global vars: globals is not an object", 0)
    return dict(go_json_loads(json.dumps(found)))


def _offset_of(trace: list[tuple[int, int]], position: int) -> int:
    """The offset in the processed text that ``position`` of the blanked-out output came from."""
    index = bisect.bisect_right(trace, (position, sys.maxsize)) - 1
    if index < 0:
        return position
    output_start, source_start = trace[index]
    return source_start + (position - output_start)
