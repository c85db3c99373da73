"""``gennaker pipeline list|get|save|delete|history|execute``: manage and run pipelines, as ``spin`` does.

``save --file`` takes Spinnaker's pipeline JSON (Deck's "Pipeline actions → Edit as JSON", or
``pipeline get --output json``; ``-`` reads stdin). Like ``spin pipeline save`` it looks the
pipeline up by application and name first and saves over that one (its id), so saving the same
file twice changes one pipeline rather than refusing a duplicate name. The gateway answers once
Front50 has stored it; an invalid pipeline is refused with the field to fix (exit status 2).

Examples::

    gennaker pipeline save --file deploy.json
    gennaker pipeline get --application shop --name "deploy to prod" --output json > deploy.json
    gennaker pipeline list --application shop
    gennaker pipeline history --application shop --name "deploy to prod"
    gennaker pipeline delete --application shop --name "deploy to prod"
    gennaker pipeline execute shop "deploy to prod" --parameter env=prod --follow
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from gennaker.commands import execution
from gennaker.commands._common import CliError
from gennaker.commands._formats import print_data
from gennaker.commands._gateway_client import GatewayClient, GatewayRefused
from gennaker.commands._output import api_options, gate_client, read_json_object, segment, timestamp
from gennaker.commands._table import cell, print_table

if TYPE_CHECKING:
    from gennaker.client_settings import GatewayAccess
    from schemas.json_types import Json


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``pipeline list``, ``get``, ``save``, ``delete``, ``history`` and ``execute`` to the CLI."""
    parser = commands.add_parser(
        "pipeline",
        aliases=["pi"],
        parents=[common],
        help="list, show, save, delete and run pipeline configs and see their history",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="pipeline_command", required=True, metavar="COMMAND")
    leaf = [common, api_options()]
    listing = actions.add_parser("list", aliases=["ls"], parents=leaf, help="list an application's pipelines")
    _application_option(listing)
    listing.set_defaults(run=run_list)
    get = actions.add_parser("get", parents=leaf, help="show one pipeline (its JSON with --output json)")
    _named_options(get)
    get.set_defaults(run=run_get)
    save = actions.add_parser("save", parents=leaf, help="create or change a pipeline from its JSON")
    save.add_argument(
        "-f", "--file", metavar="PATH", required=True, help="the pipeline's Spinnaker JSON ('-' for stdin)"
    )
    save.set_defaults(run=run_save)
    delete = actions.add_parser("delete", aliases=["del"], parents=leaf, help="delete a pipeline")
    _named_options(delete)
    delete.set_defaults(run=run_delete)
    history = actions.add_parser("history", parents=leaf, help="list a pipeline's saved versions, newest first")
    _named_options(history)
    history.add_argument("--limit", type=int, default=20, metavar="N", help="at most N versions (default 20)")
    history.set_defaults(run=run_history)
    execute = actions.add_parser("execute", parents=leaf, help="run a pipeline (and follow it with --follow)")
    execute.add_argument("application", metavar="APP", help="the pipeline's application")
    execute.add_argument("name", metavar="NAME", help="the pipeline's name (or id)")
    execute.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="KEY=VALUE", help="a parameter (repeatable)"
    )
    execute.add_argument(
        "--follow", action="store_true", help="print stages as they change; exit 0 only if it SUCCEEDED"
    )
    execute.add_argument("--poll-interval", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    execute.set_defaults(run=run_execute)


def _application_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--application", metavar="APP", required=True, help="the pipeline's application")


def _named_options(parser: argparse.ArgumentParser) -> None:
    _application_option(parser)
    parser.add_argument("-n", "--name", metavar="NAME", required=True, help="the pipeline's name")


def _config_path(application: str, name: str) -> str:
    return f"/applications/{segment(application)}/pipelineConfigs/{segment(name)}"


# --- reads ----------------------------------------------------------------------------------


def run_list(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print name, id, stage and trigger counts, state and last change of each of the application's pipelines."""
    pipelines: list[Json] = asyncio.run(_list(args, settings)) or []
    if args.output != "table":
        print_data(pipelines, args.output)
        return 0
    rows = [
        [
            pipeline.get("name"),
            pipeline.get("id"),
            len(pipeline.get("stages") or []),
            _triggers(pipeline),
            "disabled" if pipeline.get("disabled") else "enabled",
            timestamp(pipeline.get("updateTs")),
            pipeline.get("lastModifiedBy"),
        ]
        for pipeline in pipelines
    ]
    headers = ["NAME", "ID", "STAGES", "TRIGGERS", "STATE", "UPDATED (UTC)", "BY"]
    print_table(headers, rows, empty=f"no pipelines in application {args.application}")
    return 0


async def _list(args: argparse.Namespace, settings: GatewayAccess) -> list[Json]:
    async with gate_client(args, settings) as gateway:
        answer: list[Json] = await gateway.request("GET", f"/applications/{segment(args.application)}/pipelineConfigs")
    return answer


def _triggers(pipeline: Json) -> str:
    triggers = [trigger for trigger in pipeline.get("triggers") or [] if isinstance(trigger, dict)]
    return ",".join(
        str(trigger.get("type")) + ("" if trigger.get("enabled", True) else "(off)") for trigger in triggers
    )


def run_get(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print the pipeline's summary and stages (its Spinnaker JSON with ``--output json``)."""
    pipeline = asyncio.run(_get(args, settings))
    if args.output != "table":
        print_data(pipeline, args.output)
        return 0
    summary: list[list[object]] = [
        ["application", pipeline.get("application")],
        ["name", pipeline.get("name")],
        ["id", pipeline.get("id")],
        ["state", "disabled" if pipeline.get("disabled") else "enabled"],
        ["triggers", _triggers(pipeline)],
        ["parameters", [parameter.get("name") for parameter in pipeline.get("parameterConfig") or []]],
        ["updated", f"{timestamp(pipeline.get('updateTs'))} UTC by {cell(pipeline.get('lastModifiedBy'))}"],
    ]
    print_table(["FIELD", "VALUE"], summary, empty="")
    stages = [
        [stage.get("refId"), stage.get("type"), stage.get("name"), stage.get("requisiteStageRefIds")]
        for stage in pipeline.get("stages") or []
    ]
    print()
    print_table(["REF", "TYPE", "NAME", "AFTER"], stages, empty="no stages")
    return 0


async def _get(args: argparse.Namespace, settings: GatewayAccess) -> Json:
    async with gate_client(args, settings) as gateway:
        answer: Json = await gateway.request("GET", _config_path(args.application, args.name))
    return answer


def run_history(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print the pipeline's saved versions, newest (the current one) first."""
    if args.limit < 1:
        raise CliError("--limit must be at least 1", code=2)
    versions = asyncio.run(_history(args, settings))
    if args.output != "table":
        print_data(versions, args.output)
        return 0
    rows = [
        [
            number,
            timestamp(version.get("updateTs")),
            version.get("lastModifiedBy"),
            version.get("name"),
            len(version.get("stages") or []),
            _triggers(version),
            "disabled" if version.get("disabled") else "enabled",
        ]
        for number, version in zip(range(len(versions), 0, -1), versions, strict=True)
    ]
    headers = ["VERSION", "UPDATED (UTC)", "BY", "NAME", "STAGES", "TRIGGERS", "STATE"]
    print_table(headers, rows, empty="no saved versions")
    return 0


async def _history(args: argparse.Namespace, settings: GatewayAccess) -> list[Json]:
    """Resolve the pipeline's id by name, then read ``/pipelineConfigs/{id}/history``."""
    async with gate_client(args, settings) as gateway:
        pipeline: Json = await gateway.request("GET", _config_path(args.application, args.name))
        pipeline_id = str(pipeline.get("id") or "")
        if not pipeline_id:
            raise CliError(f"pipeline {args.name!r} of {args.application} has no id; save it again to give it one")
        versions: list[Json] = await gateway.request(
            "GET", f"/pipelineConfigs/{segment(pipeline_id)}/history?limit={args.limit}"
        )
    return versions


# --- writes ---------------------------------------------------------------------------------


def pipeline_from(path: str) -> Json:
    """The pipeline JSON in ``path`` (``-``: stdin), checked for what ``spin`` checks: name and application."""
    pipeline = read_json_object(path, "pipeline")
    source = "stdin" if path == "-" else path
    missing = [key for key in ("application", "name") if not isinstance(pipeline.get(key), str) or not pipeline[key]]
    if missing:
        keys = " and ".join(repr(key) for key in missing)
        raise CliError(f"pipeline in {source} needs {keys} (a non-empty string)", code=2)
    template = pipeline.get("template")
    if isinstance(template, dict) and template:
        if "schema" not in pipeline:
            raise CliError(f"templated pipeline in {source} needs 'schema' (e.g. \"v2\")", code=2)
        pipeline["type"] = "templatedPipeline"
    return pipeline


def run_save(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Save the pipeline over the one of the same name (if any); print what was stored."""
    pipeline = pipeline_from(args.file)
    saved, created = asyncio.run(_save(args, settings, pipeline))
    if args.output != "table":
        print_data(saved, args.output)
        return 0
    what = "created" if created else "updated"
    print(f"pipeline {saved.get('name')!r} of {saved.get('application')} {what} (id {saved.get('id')})")
    print("Pipeline save succeeded")
    return 0


async def _save(args: argparse.Namespace, settings: GatewayAccess, pipeline: Json) -> tuple[Json, bool]:
    application, name = str(pipeline["application"]), str(pipeline["name"])
    async with gate_client(args, settings) as gateway:
        found = await _find(gateway, application, name)
        if found is not None:
            found_id = found.get("id")
            given_id = pipeline.get("id")
            if given_id and found_id and given_id != found_id:
                raise CliError(
                    f"pipeline {name!r} of {application} has id {found_id}, but the file says {given_id}; "
                    "remove 'id' from the file, or rename the pipeline",
                    code=2,
                )
            pipeline["id"] = found_id
        saved: Json = await gateway.request("POST", "/pipelines", body=pipeline)
    return saved, found is None


async def _find(gateway: GatewayClient, application: str, name: str) -> Json | None:
    """The stored pipeline, or None when there is none of that name (or no such application yet)."""
    try:
        found: Json = await gateway.request("GET", _config_path(application, name))
    except GatewayRefused as error:
        if error.status == 404:
            return None
        raise
    return found


def run_delete(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Delete the pipeline; its history stays, as in Front50."""
    answer = asyncio.run(_delete(args, settings))
    if args.output != "table":
        print_data(answer if answer is not None else {}, args.output)
        return 0
    print(f"pipeline {args.name!r} of {args.application} deleted")
    return 0


async def _delete(args: argparse.Namespace, settings: GatewayAccess) -> Json | None:
    async with gate_client(args, settings) as gateway:
        answer: Json | None = await gateway.request(
            "DELETE", f"/pipelines/{segment(args.application)}/{segment(args.name)}"
        )
    return answer


# --- running --------------------------------------------------------------------------------


def parameters_from(pairs: list[str]) -> Json:
    """``--parameter KEY=VALUE`` options as a dict; exit status 2 naming one without ``=``."""
    parameters: Json = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise CliError(f"--parameter {pair!r} must be KEY=VALUE", code=2)
        parameters[key.strip()] = value
    return parameters


def run_execute(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Trigger the pipeline; print its execution id (and, with ``--follow``, its stages until it ends)."""
    body: Json = {"type": "manual"}
    parameters = parameters_from(args.parameter)
    if parameters:
        body["parameters"] = parameters
    return asyncio.run(_execute(args, settings, body))


async def _execute(args: argparse.Namespace, settings: GatewayAccess, body: Json) -> int:
    async with gate_client(args, settings) as gateway:
        answer: Json = await gateway.request(
            "POST", f"/pipelines/{segment(args.application)}/{segment(args.name)}", body=body
        )
        execution_id = str(answer.get("ref") or "").rsplit("/", 1)[-1]
        if not args.follow:
            if args.output != "table":
                print_data(answer, args.output)
            else:
                print(f"pipeline {args.name!r} of {args.application} started: execution {execution_id}")
            return 0
        show = (lambda line: None) if args.output != "table" else print
        show(f"pipeline {args.name!r} of {args.application} started: execution {execution_id}")
        finished = await execution.follow(gateway, execution_id, interval=args.poll_interval, show=show)
    if args.output != "table":
        print_data(finished, args.output)
    else:
        print(f"execution {execution_id} {finished.get('status')}")
    return 0 if finished.get("status") == "SUCCEEDED" else 1
