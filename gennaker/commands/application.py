"""``gennaker application list|get|save|delete``: manage applications through the gateway, as ``spin`` does.

Reads are Gate's ``GET /applications[/{name}]``. Writes are what Deck and ``spin application
save`` do: ``POST /tasks`` with a ``createApplication`` (new), ``updateApplication`` (existing;
Front50 merges the given attributes over the stored ones) or ``deleteApplication`` job, then poll
``GET /tasks/{id}`` until it finishes. A task that ends TERMINAL or CANCELED exits non-zero with
the task's own error: status 2 when it names an input to fix, 1 otherwise.

Examples::

    gennaker application save --application-name shop --owner-email shop@example.com --cloud-providers aws
    gennaker application save --file shop.json
    gennaker application list --output json
    gennaker application delete shop
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from gennaker.commands._common import CliError
from gennaker.commands._formats import print_data
from gennaker.commands._gateway_client import GatewayClient, GatewayRefused
from gennaker.commands._output import api_options, gate_client, note, read_json_object, segment, timestamp
from gennaker.commands._table import print_table

if TYPE_CHECKING:
    from gennaker.client_settings import GatewayAccess
    from schemas.json_types import Json

FINISHED = ("SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED", "FAILED_CONTINUE")
SUCCESSFUL = ("SUCCEEDED", "STOPPED", "SKIPPED")
"""Orca's finished and successful task statuses, as ``spin``'s task watcher reads them."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``application list``, ``get``, ``save`` and ``delete`` (alias ``app``) to the CLI."""
    parser = commands.add_parser(
        "application",
        aliases=["app"],
        parents=[common],
        help="list, show, create, change and delete applications",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="application_command", required=True, metavar="COMMAND")
    leaf = [common, api_options()]
    actions.add_parser("list", aliases=["ls"], parents=leaf, help="list the applications you may read").set_defaults(
        run=run_list
    )
    get = actions.add_parser("get", parents=leaf, help="show one application's attributes")
    get.add_argument("name", metavar="APPLICATION")
    get.set_defaults(run=run_get)
    save = actions.add_parser(
        "save", parents=leaf, help="create an application or change its attributes, and wait for the task"
    )
    save.add_argument("-f", "--file", metavar="PATH", help="the application's attributes as JSON ('-' for stdin)")
    save.add_argument("-a", "--application-name", metavar="NAME", help="the application's name (wins over --file)")
    save.add_argument("--owner-email", metavar="EMAIL", help="the owner's email (wins over --file)")
    save.add_argument(
        "--cloud-providers",
        metavar="LIST",
        action="append",
        help="cloud providers, comma separated or repeated, e.g. 'aws,kubernetes' (wins over --file)",
    )
    save.add_argument("--description", metavar="TEXT", help="what the application is (wins over --file)")
    _timeout_option(save)
    save.set_defaults(run=run_save)
    delete = actions.add_parser("delete", aliases=["del"], parents=leaf, help="delete an application")
    delete.add_argument("name", metavar="APPLICATION")
    _timeout_option(delete)
    delete.set_defaults(run=run_delete)


def _timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS", help="how long to wait for the task (default 60)"
    )


# --- list and get ---------------------------------------------------------------------------


def run_list(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print name, owner, cloud providers, last change and description of each readable application."""
    applications: list[Json] = asyncio.run(_call(args, settings, "GET", "/applications")) or []
    if args.output != "table":
        print_data(applications, args.output)
        return 0
    rows = [
        [
            app.get("name"),
            app.get("email"),
            app.get("cloudProviders"),
            timestamp(app.get("updateTs")),
            app.get("description"),
        ]
        for app in sorted(applications, key=lambda app: str(app.get("name")))
    ]
    print_table(["NAME", "OWNER", "CLOUD PROVIDERS", "UPDATED (UTC)", "DESCRIPTION"], rows, empty="no applications")
    return 0


def run_get(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print one application's attributes, one per line (all of Gate's answer with ``--output json``)."""
    details: Json = asyncio.run(_call(args, settings, "GET", f"/applications/{segment(args.name)}"))
    if args.output != "table":
        print_data(details, args.output)
        return 0
    attributes: Json = dict(details.get("attributes") or {})
    for key in ("createTs", "updateTs"):
        if key in attributes:
            attributes[key] = f"{timestamp(attributes[key])} UTC"
    first = ["name", "email", "description", "cloudProviders", "accounts", "permissions"]
    keys = [key for key in first if key in attributes] + sorted(key for key in attributes if key not in first)
    print_table(["ATTRIBUTE", "VALUE"], [[key, attributes[key]] for key in keys], empty="no attributes")
    return 0


async def _call(args: argparse.Namespace, settings: GatewayAccess, method: str, path: str, body: Any = None) -> Any:
    async with gate_client(args, settings) as gateway:
        return await gateway.request(method, path, body=body)


# --- save and delete ------------------------------------------------------------------------


def application_from(args: argparse.Namespace) -> Json:
    """The attributes to save: ``--file`` (if any) with the flags written over it; needs a name."""
    application: Json = read_json_object(args.file, "application") if args.file else {}
    if args.application_name is not None:
        application["name"] = args.application_name
    if args.owner_email is not None:
        application["email"] = args.owner_email
    if args.cloud_providers:
        providers = [part.strip() for value in args.cloud_providers for part in value.split(",") if part.strip()]
        application["cloudProviders"] = ",".join(providers)
    if args.description is not None:
        application["description"] = args.description
    name = application.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CliError(
            "name the application: pass --application-name NAME, or --file with a JSON object holding 'name'", code=2
        )
    return application


def run_save(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Create the application (or change an existing one) and wait for Orca's task to finish."""
    application = application_from(args)
    task = asyncio.run(_save(args, settings, application))
    _report(args, task, "Application save succeeded")
    return 0


async def _save(args: argparse.Namespace, settings: GatewayAccess, application: Json) -> Json:
    name = str(application["name"])
    async with gate_client(args, settings) as gateway:
        exists = await _exists(gateway, name)
        if not exists and not application.get("email"):
            raise CliError(f"application {name} is new: give its owner with --owner-email EMAIL", code=2)
        job_type = "updateApplication" if exists else "createApplication"
        verb = "Update" if exists else "Create"
        body = {
            "application": name,
            "description": f"{verb} Application: {name}",
            "job": [{"type": job_type, "application": application}],
        }
        return await run_task(gateway, body, timeout=args.timeout)


def run_delete(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Delete the application (``spin`` refuses one that does not exist, and so do we) and wait."""
    task = asyncio.run(_delete(args, settings))
    _report(args, task, "Application deleted")
    return 0


async def _delete(args: argparse.Namespace, settings: GatewayAccess) -> Json:
    name: str = args.name
    async with gate_client(args, settings) as gateway:
        if not await _exists(gateway, name):
            raise CliError(f"there is no application {name} to delete; `gennaker application list` shows them", code=2)
        body = {
            "application": name,
            "description": f"Delete Application: {name}",
            "job": [{"type": "deleteApplication", "application": {"name": name}}],
        }
        return await run_task(gateway, body, timeout=args.timeout)


async def _exists(gateway: GatewayClient, name: str) -> bool:
    try:
        await gateway.request("GET", f"/applications/{segment(name)}?expand=false")
    except GatewayRefused as error:
        if error.status == 404:
            return False
        raise
    return True


async def run_task(gateway: GatewayClient, body: Json, *, timeout: float) -> Json:
    """Submit a task with ``POST /tasks``, poll its ref until it finishes; raise unless it succeeded.

    The poll starts fast (most application tasks take milliseconds) and backs off to once a second.
    """
    submitted = await gateway.request("POST", "/tasks", body=body)
    ref = str((submitted or {}).get("ref", ""))
    if not ref.startswith("/tasks/"):
        raise CliError(f"the gateway answered POST /tasks without a task ref: {submitted!r}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.05
    while True:
        try:
            task: Json = await gateway.request("GET", ref)
        except GatewayRefused as error:
            # The gateway answers POST /tasks before Orca has stored the task: until then it is unknown.
            if error.status != 404 or loop.time() >= deadline:
                raise
            task = {"status": "NOT_STARTED"}
        status = str(task.get("status"))
        if status in FINISHED:
            break
        if loop.time() >= deadline:
            raise CliError(
                f"task {task.get('id', ref)} is still {status} after {timeout:g}s; "
                f"follow it at GET {ref} or pass a longer --timeout"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
    if status not in SUCCESSFUL:
        raise task_failure(task)
    return task


def task_failure(task: Json) -> CliError:
    """The error of a task that did not succeed: Orca's ``exception.details`` (status 2 if it names a field)."""
    variables = {item.get("key"): item.get("value") for item in task.get("variables") or [] if isinstance(item, dict)}
    exception = _object(variables.get("exception"))
    details = _object(exception.get("details"))
    errors = details.get("errors") or ([details["error"]] if details.get("error") else [])
    reason = "; ".join(str(error) for error in errors) or "no error was recorded"
    if task.get("status") == "CANCELED":
        execution = _object(task.get("execution"))
        reason = f"canceled by {execution.get('canceledBy') or 'a user'}"
    return CliError(
        f"task {task.get('id')} ({task.get('name')}) ended {task.get('status')}: {reason}",
        code=2 if details.get("field") else 1,
    )


def _object(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _report(args: argparse.Namespace, task: Json, success: str) -> None:
    if args.output != "table":
        print_data(task, args.output)
        return
    print(f"task {task.get('id')} {task.get('status')}: {task.get('name')}")
    print(success)
    if task.get("status") != "SUCCEEDED":
        note(f"the task ended {task.get('status')}")
