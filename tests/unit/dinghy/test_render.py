"""Dinghy's rendering rules: modules with stacked variables, JSON arguments, var defaults,
globals, local modules, pipelineID, makeSlice and the preprocessor, with errors that point
into the file the user wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from workers.dinghy.render import Renderer, RenderError
from workers.dinghy.render.preprocessor import preprocess


@dataclass
class Files:
    """An in-memory repository at one branch."""

    repo: str
    files: dict[str, str] = field(default_factory=dict)
    branch: str = "master"

    def read(self, path: str) -> str:
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]


TEMPLATES = Files(
    "org/templates",
    {
        "stage": '{"name": "{{ var "name" ?: "Wait" }}", "waitTime": {{ var "waitTime" ?: 30 }}, '
        '"env": "{{ var "env" ?: "@region" }}", "tags": {{ var "tags" ?: "[]" }}}',
        "outer": '{{ module "stage" "name" "inner" }}',
        "calls_local": '{{ local_module "anything" }}',
        "self": '{{ module "self" }}',
        "kv": '"extra": "{{ var "extra" }}"',
        "broken": "{\n  {{ nope }}\n}",
        "where": '"{{ .Repo }}:{{ .Path }}"',
    },
)


def render(text: str, app: Files | None = None, **kwargs: object) -> str:
    source = app or Files("org/app", {"dinghyfile": text})
    renderer = Renderer(TEMPLATES, **kwargs)  # type: ignore[arg-type]
    return renderer.render_text(source, "dinghyfile", text).text


def test_module_arguments_stack_over_the_callers_and_globals() -> None:
    text = (
        '{"globals": {"waitTime": 5, "region": "eu"}, "s": [{{ module "stage" "name" "first" }}, {{ module "outer" }}]}'
    )
    stages = json.loads(render(text))["s"]
    assert stages == [
        {"name": "first", "waitTime": 5, "env": "eu", "tags": []},
        {"name": "inner", "waitTime": 5, "env": "eu", "tags": []},
    ]


def test_json_arguments_are_decoded_and_var_gives_them_back_as_json() -> None:
    text = '{"s": {{ module "stage" "tags" ["a", {"b": 1}] "env" "prod" }}}'
    assert json.loads(render(text))["s"] == {"name": "Wait", "waitTime": 30, "env": "prod", "tags": ["a", {"b": 1}]}


def test_preprocessor_quotes_json_and_drops_the_elvis_operator() -> None:
    processed = preprocess('{{ module "m" "o" {"a": [1, "}}"]} }} {{ var "x" ?: "d" }}', "f").text
    assert processed == '{{ module "m" "o" "{\\"a\\": [1, \\"}}\\"]}" }} {{ var "x" "d" }}'


def test_var_defaults() -> None:
    text = (
        '{"globals": {"other": "from-globals"}, "a": "{{ var "nope" }}", '
        '"b": "{{ var "nope" ?: "@other" }}", "c": {{ var "nope" 7 }}}'
    )
    assert json.loads(render(text)) == {"globals": {"other": "from-globals"}, "a": "", "b": "from-globals", "c": 7}


def test_app_module_pipeline_id_make_slice_and_git_fields() -> None:
    ids = {("other", "deploy"): "id-123"}
    text = (
        '{"x": { {{ appModule "kv" "extra" "e" }} }, "id": "{{ pipelineID "other" "deploy" }}", '
        '"none": "{{ pipelineID "other" "missing" }}", "n": {{ len (makeSlice 1 2 3) }}, "w": {{ module "where" }}}'
    )

    def lookup(app: str, name: str) -> str:
        if (app, name) not in ids:
            raise LookupError(name)
        return ids[(app, name)]

    assert json.loads(render(text, pipeline_id=lookup)) == {
        "x": {"extra": "e"},
        "id": "id-123",
        "none": "",
        "n": 3,
        "w": "templates:where",
    }


def test_local_module_reads_the_dinghyfiles_repository_and_is_refused_in_a_template_module() -> None:
    app = Files("org/app", {"local/part": '"{{ var "k" }}"'})
    assert render('{"p": {{ local_module "local/part" "k" "v" }}}', app) == '{"p": "v"}'
    with pytest.raises(
        RenderError, match="anything is a local_module, calling local_module from a module is not allowed"
    ):
        render('{"p": {{ module "calls_local" }}}', app)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('{\n  "a": {{ module "mod1" }}\n}', "dinghyfile:2:11", "module 'mod1' not found on branch 'master'"),
        ('{\n  "a": {{ nope 1 }}\n}', "dinghyfile:2:11", 'function "nope" not defined'),
        ('{"a": {{ module "broken" }}}', "broken:2:6", 'function "nope" not defined'),
        ('{"a": {{ module "self" }}}', "dinghyfile:1:10", "modules nested deeper than 20"),
        ('{\n  "a": {{ var "x" }},,\n}', "dinghyfile:2:22", "malformed JSON"),
        # the preprocessor collapsed the spaces before `nope`; the column is still the file's
        (
            '{"a":\n {{          module\n     "stage"   "name" (nope) }}}',
            "dinghyfile:3:24",
            'function "nope" not defined',
        ),
        ('{"a": {{ module "stage"  ', "dinghyfile:1:7", "unclosed action"),
        ('{"a": {{ module "stage" }', "dinghyfile:1:7", "missing '}}'"),
    ],
)
def test_errors_name_the_file_line_and_column(text: str, where: str, message: str) -> None:
    with pytest.raises(RenderError) as caught:
        render(text)
    assert where in str(caught.value) and message in str(caught.value), str(caught.value)


def test_without_a_template_repository_module_says_templateorg_is_not_configured() -> None:
    source = Files("org/app")
    with pytest.raises(RenderError, match="Cannot load module stage; templateOrg not configured"):
        Renderer(None).render_text(source, "dinghyfile", '{"a": {{ module "stage" }}}')


def test_modules_used_are_recorded_transitively() -> None:
    renderer = Renderer(TEMPLATES)
    rendered = renderer.render_text(Files("org/app"), "dinghyfile", '{"a": {{ module "outer" }}}')
    assert rendered.modules == {"outer", "stage"}
