"""``gennaker dinghy render|diff|history``: try a dinghyfile locally, see what applying it would
change, and what Dinghy applied.

``render`` prints the dinghyfile rendered as Dinghy renders it (Go template syntax, ``module``,
``local_module``, ``var``, sprig's functions), before Dinghy reads it as JSON: ``--modules DIR``
stands for the template repository (``module "stages/wait"`` reads ``DIR/stages/wait``),
``local_module`` paths are relative to the dinghyfile's directory, ``--branch`` sets ``.Branch``
and ``--raw-data`` the push payload behind ``.RawData``. A template error, or a render that is not
valid JSON (the render is still printed), is exit status 2 with what was wrong on stderr.

``diff`` renders the same way, reads the application's pipelines through the gateway and prints,
pipeline by pipeline, the JSON diff of what applying the dinghyfile would change (exit status 0
either way; ``--exit-code`` makes a change status 3).

``history --application APP`` lists what Dinghy rendered for the application, newest first: when,
the outcome (applied, validated, failed), the file and branch, the commit, the author and what
changed (Gate's ``/dinghy/applications/{app}/history``).

Examples::

    gennaker dinghy render dinghyfile --modules ../pipeline-templates --branch main
    gennaker dinghy render dinghyfile --raw-data push.json
    gennaker dinghy diff dinghyfile --modules ../pipeline-templates
    gennaker dinghy history --application shop
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gennaker.commands._common import CliError
from gennaker.commands._output import api_options, gate_client, segment

if TYPE_CHECKING:
    from gennaker.client_settings import GatewayAccess
    from workers.dinghy.plan import Plan
    from workers.dinghy.render import Rendered

MAX_RAW_DATA = 1024 * 1024


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``dinghy render`` and ``dinghy diff`` to the CLI."""
    parser = commands.add_parser(
        "dinghy",
        parents=[common],
        help="render a dinghyfile locally, diff it against the pipelines it would change, see what Dinghy applied",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dinghy_command", required=True, metavar="COMMAND")
    source = argparse.ArgumentParser(add_help=False)
    source.add_argument("dinghyfile", metavar="DINGHYFILE", help="the dinghyfile to render")
    source.add_argument("--modules", metavar="DIR", help="a directory standing for the template repository")
    source.add_argument("--branch", default="master", help="the branch the push is on (.Branch; default master)")
    source.add_argument("--raw-data", metavar="PUSH.json", help="the push's JSON payload (.RawData)")
    render = actions.add_parser("render", parents=[common, source], help="print the rendered dinghyfile")
    render.set_defaults(run=run_render, needs_settings=False)
    diff = actions.add_parser(
        "diff", parents=[common, source, api_options(logs=True)], help="show what applying the dinghyfile would change"
    )
    diff.add_argument("--exit-code", action="store_true", help="exit with status 3 when something would change")
    diff.set_defaults(run=run_diff)
    history = actions.add_parser(
        "history", parents=[common, api_options()], help="list what Dinghy rendered for an application"
    )
    history.add_argument("-a", "--application", metavar="APP", required=True, help="the application")
    history.add_argument("--limit", type=int, default=20, metavar="N", help="at most N entries (default 20)")
    history.set_defaults(run=run_history)


def _render(args: argparse.Namespace, pipeline_id: Any = None) -> Rendered:
    from workers.dinghy.render import DirectorySource, Renderer, RenderError

    path = Path(args.dinghyfile)
    if not path.is_file():
        raise CliError(f"no dinghyfile at {path}", code=2)
    raw: dict[str, Any] = {}
    if args.raw_data:
        raw_path = Path(args.raw_data)
        try:
            text = raw_path.read_text(encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot read --raw-data {raw_path}: {error.strerror or error}", code=2) from None
        if len(text) > MAX_RAW_DATA:
            raise CliError(f"--raw-data {raw_path} is larger than {MAX_RAW_DATA} bytes", code=2)
        try:
            from workers.dinghy.gotemplate.values import go_json_loads

            raw = go_json_loads(text)
        except ValueError as error:
            raise CliError(f"--raw-data {raw_path} is not valid JSON: {error}", code=2) from None
        if not isinstance(raw, dict):
            raise CliError(f"--raw-data {raw_path} must hold one JSON object", code=2)
    modules = None
    if args.modules:
        if not Path(args.modules).is_dir():
            raise CliError(f"--modules {args.modules} is not a directory", code=2)
        modules = DirectorySource(Path(args.modules), "local/templates", "master")
    local = DirectorySource(path.parent, "local/" + (path.parent.resolve().name or "repo"), args.branch)
    renderer = Renderer(modules, pipeline_id=pipeline_id, dinghyfile_name=path.name)
    try:
        return renderer.render(local, path.name, raw)
    except RenderError as error:
        raise CliError(str(error), code=2) from None


def run_render(args: argparse.Namespace, settings: GatewayAccess | None) -> int:
    """Print the render; exit status 2 when it fails or is not valid JSON."""
    rendered = _render(args)
    sys.stdout.write(rendered.text)
    from workers.dinghy.dinghyfile import DinghyfileError, read_dinghyfile

    try:
        read_dinghyfile(rendered.text)
    except DinghyfileError as error:
        sys.stdout.flush()
        raise CliError(f"{args.dinghyfile}: {error}", code=2) from None
    return 0


def run_diff(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print what applying the dinghyfile would change, pipeline by pipeline."""
    plan = asyncio.run(_diff(args, settings))
    if args.output == "table":
        sys.stdout.write(plan.describe())
    else:
        from gennaker.commands._formats import print_data

        data = [{"name": c.name, "action": c.action, "diff": c.diff} for c in plan.changes]
        print_data(
            {"application": plan.application, "createApplication": plan.create_application, "changes": data},
            args.output,
        )
    return 3 if args.exit_code and plan.changed else 0


async def _diff(args: argparse.Namespace, settings: GatewayAccess) -> Plan:
    from gennaker.commands._gateway_client import GatewayRefused
    from workers.dinghy.dinghyfile import DinghyfileError, read_dinghyfile
    from workers.dinghy.plan import plan

    async with gate_client(args, settings) as gateway:
        ids: dict[str, dict[str, str]] = {}

        async def pipelines_of(application: str) -> list[dict[str, Any]]:
            try:
                found: list[dict[str, Any]] = await gateway.request(
                    "GET", f"/applications/{segment(application)}/pipelineConfigs"
                )
            except GatewayRefused as error:
                if error.status == 404:
                    return []
                raise
            return found or []

        # pipelineID needs Front50's ids before the (synchronous) render: read them for the
        # applications a first render asks about, then render again with them
        asked: set[str] = set()

        def remember(app: str, name: str) -> str:
            asked.add(app)
            found = ids.get(app, {}).get(name)
            if found is None:
                raise LookupError(name)
            return found

        rendered = _render(args, remember)
        if asked:
            for application in asked:
                ids[application] = {str(p.get("name")): str(p.get("id")) for p in await pipelines_of(application)}
            rendered = _render(args, remember)
        try:
            dinghyfile = read_dinghyfile(rendered.text)
        except DinghyfileError as error:
            raise CliError(f"{args.dinghyfile}: {error}", code=2) from None
        try:
            await gateway.request("GET", f"/applications/{segment(dinghyfile.application)}")
            exists = True
        except GatewayRefused as error:
            if error.status != 404:
                raise
            exists = False
        existing = await pipelines_of(dinghyfile.application) if exists else []
    return plan(dinghyfile, existing, application_exists=exists)


def run_history(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print the application's Dinghy history, newest first."""
    if not 1 <= args.limit <= 1000:
        raise CliError("--limit must be between 1 and 1000", code=2)
    entries = asyncio.run(_history(args, settings))
    if args.output != "table":
        from gennaker.commands._formats import print_data

        print_data(entries, args.output)
        return 0
    from gennaker.commands._output import timestamp
    from gennaker.commands._table import print_table

    rows = [
        [
            timestamp(entry.get("at")),
            entry.get("outcome"),
            f"{entry.get('repository')}/{entry.get('path')}@{entry.get('branch')}",
            str(entry.get("commit") or "")[:10],
            entry.get("author"),
            entry.get("error") or _changes(entry.get("changes") or {}),
        ]
        for entry in entries
    ]
    headers = ["WHEN (UTC)", "OUTCOME", "FILE", "COMMIT", "AUTHOR", "CHANGES"]
    print_table(headers, rows, empty=f"Dinghy has rendered nothing for {args.application}")
    return 0


async def _history(args: argparse.Namespace, settings: GatewayAccess) -> list[dict[str, Any]]:
    async with gate_client(args, settings) as gateway:
        path = f"/dinghy/applications/{segment(args.application)}/history?limit={args.limit}"
        entries: list[dict[str, Any]] = await gateway.request("GET", path)
    return entries


def _changes(changes: dict[str, Any]) -> str:
    parts = [
        f"{action} {', '.join(map(str, changes[action]))}"
        for action in ("create", "update", "delete")
        if changes.get(action)
    ]
    return "; ".join(parts) or "no changes"
