"""``gennaker execution list|get|cancel|pause|resume|judge``: follow and steer pipeline executions, as ``spin`` does.

Every command calls the gateway's Gate routes (``/applications/{app}/pipelines``,
``/pipelines/{id}`` …). ``cancel`` and ``judge`` return once Orca took them, and exit 2 with
Orca's reason when it refused (the execution had finished, the stage was judged already);
``pause`` and ``resume`` are accepted at once: ``get`` shows their effect.
``pipeline execute --follow`` uses :func:`follow` from here to print stages as they change.

Examples::

    gennaker execution list --application shop --statuses RUNNING,PAUSED
    gennaker execution get 01J0000000000000000000000
    gennaker execution judge 01J0000000000000000000000 01J0000000000000000000001 --continue --input yes
    gennaker execution cancel 01J0000000000000000000000 --reason "wrong build"
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from gennaker.commands._common import CliError
from gennaker.commands._formats import print_data
from gennaker.commands._gateway_client import GatewayClient
from gennaker.commands._output import api_options, gate_client, segment, timestamp
from gennaker.commands._table import print_table

if TYPE_CHECKING:
    from gennaker.client_settings import GatewayAccess
    from schemas.json_types import Json

FINISHED = frozenset({"SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED"})
"""Execution statuses after which nothing more happens."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``execution list``, ``get``, ``cancel``, ``pause``, ``resume`` and ``judge`` to the CLI."""
    parser = commands.add_parser(
        "execution",
        aliases=["ex"],
        parents=[common],
        help="list, show, cancel, pause, resume and judge pipeline executions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="execution_command", required=True, metavar="COMMAND")
    leaf = [common, api_options()]
    listing = actions.add_parser("list", aliases=["ls"], parents=leaf, help="list an application's executions")
    listing.add_argument("-a", "--application", metavar="APP", required=True, help="the executions' application")
    listing.add_argument("--statuses", metavar="S,S", help="only these statuses, e.g. RUNNING,TERMINAL")
    listing.add_argument("--limit", type=int, default=10, metavar="N", help="at most N executions (default 10)")
    listing.set_defaults(run=run_list)
    get = actions.add_parser("get", parents=leaf, help="show one execution and its stages")
    _id_argument(get)
    get.set_defaults(run=run_get)
    cancel = actions.add_parser("cancel", parents=leaf, help="cancel an execution that has not finished")
    _id_argument(cancel)
    cancel.add_argument("--reason", help="why (shown with the execution)")
    cancel.set_defaults(run=run_cancel)
    pause = actions.add_parser("pause", parents=leaf, help="pause a running execution")
    _id_argument(pause)
    pause.set_defaults(run=run_pause)
    resume = actions.add_parser("resume", parents=leaf, help="resume a paused execution")
    _id_argument(resume)
    resume.set_defaults(run=run_resume)
    judge = actions.add_parser("judge", parents=leaf, help="answer a manual judgment stage")
    _id_argument(judge)
    judge.add_argument("stage_id", metavar="STAGE_ID", help="the manualJudgment stage's id (see `execution get`)")
    answer = judge.add_mutually_exclusive_group(required=True)
    answer.add_argument("--continue", dest="judgment", action="store_const", const="continue", help="let it go on")
    answer.add_argument("--stop", dest="judgment", action="store_const", const="stop", help="stop the pipeline")
    judge.add_argument("--input", help="the option chosen, when the stage offers some")
    judge.set_defaults(run=run_judge)


def _id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="the execution's id")


def _path(execution_id: str) -> str:
    return f"/pipelines/{segment(execution_id)}"


async def _call(
    args: argparse.Namespace, settings: GatewayAccess, method: str, path: str, body: Json | None = None
) -> Json:
    async with gate_client(args, settings) as gateway:
        answer = await gateway.request(method, path, body=body)
    return answer if isinstance(answer, dict) else {}


# --- reads ----------------------------------------------------------------------------------


def duration(execution: Json) -> str | None:
    """How long the execution ran (so far), as ``1m05s``."""
    start, end = execution.get("startTime"), execution.get("endTime")
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    seconds = max(0, (end - start) // 1000)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def run_list(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print id, pipeline, status, trigger, start, duration and who triggered each execution."""
    if args.limit < 1:
        raise CliError("--limit must be at least 1", code=2)
    query = f"?limit={args.limit}" + (f"&statuses={segment(args.statuses)}" if args.statuses else "")
    executions = asyncio.run(_list(args, settings, f"/applications/{segment(args.application)}/pipelines{query}"))
    if args.output != "table":
        print_data(executions, args.output)
        return 0
    rows = [
        [
            execution.get("id"),
            execution.get("name"),
            execution.get("status"),
            (execution.get("trigger") or {}).get("type"),
            timestamp(execution.get("startTime")),
            duration(execution),
            (execution.get("trigger") or {}).get("user"),
        ]
        for execution in executions
    ]
    headers = ["ID", "PIPELINE", "STATUS", "TRIGGER", "STARTED (UTC)", "DURATION", "BY"]
    print_table(headers, rows, empty=f"no executions in application {args.application}")
    return 0


async def _list(args: argparse.Namespace, settings: GatewayAccess, path: str) -> list[Json]:
    async with gate_client(args, settings) as gateway:
        answer: list[Json] = await gateway.request("GET", path) or []
    return answer


FAILED = frozenset({"TERMINAL", "FAILED_CONTINUE", "STOPPED"})
"""Stage statuses that say the stage failed (and so have a reason to show)."""


def stage_reason(stage: Json) -> str | None:
    """Why ``stage`` failed, in words: the errors of its context's ``exception`` (Orca's shape)."""
    context = stage.get("context") or {}
    exception = context.get("exception") if isinstance(context, dict) else None
    details = exception.get("details") if isinstance(exception, dict) else None
    if not isinstance(details, dict):
        return None
    errors = details.get("errors") or ([details["error"]] if details.get("error") else [])
    return "; ".join(str(error) for error in errors) or None


def judge_command(execution_id: str, stage: Json) -> str | None:
    """The ``gennaker execution judge`` command answering ``stage``, when it is a judgment waiting for one."""
    context = stage.get("context") or {}
    waiting = stage.get("type") == "manualJudgment" and stage.get("status") == "RUNNING"
    if not waiting or not isinstance(context, dict) or context.get("judgmentStatus"):
        return None
    options = [str(item.get("value")) for item in context.get("judgmentInputs") or [] if isinstance(item, dict)]
    choice = f" [--input {'|'.join(options)}]" if options else ""
    return f"gennaker execution judge {execution_id} {stage.get('id')} --continue|--stop{choice}"


def stage_notes(execution_id: str, stage: Json) -> list[str]:
    """What a person must know about ``stage`` beyond its status: why it failed, or how to answer it."""
    label = f"stage {stage.get('refId')} {stage.get('name')!r}"
    reason = stage_reason(stage) if stage.get("status") in FAILED else None
    command = judge_command(execution_id, stage)
    notes = [f"{label} failed: {reason}"] if reason else []
    if command:
        notes.append(f"{label} is waiting for a judgment; answer it with: {command}")
    return notes


def print_execution(execution: Json) -> None:
    """The execution's summary and its stages as tables, then why stages failed and what waits for whom."""
    trigger = execution.get("trigger") or {}
    summary: list[list[object]] = [
        ["id", execution.get("id")],
        ["application", execution.get("application")],
        ["pipeline", execution.get("name")],
        ["status", execution.get("status")],
        ["trigger", f"{trigger.get('type')} by {trigger.get('user')}"],
        ["parameters", trigger.get("parameters") or None],
        ["started", timestamp(execution.get("startTime"))],
        ["ended", timestamp(execution.get("endTime"))],
    ]
    print_table(["FIELD", "VALUE"], summary, empty="")
    stages = [
        [stage.get("refId"), stage.get("id"), stage.get("type"), stage.get("name"), stage.get("status")]
        for stage in execution.get("stages") or []
    ]
    print()
    print_table(["REF", "STAGE ID", "TYPE", "NAME", "STATUS"], stages, empty="no stages")
    notes = [note for stage in execution.get("stages") or [] for note in stage_notes(str(execution.get("id")), stage)]
    if notes:
        print()
        print("\n".join(notes))


def run_get(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Print the execution and its stages (its JSON with ``--output json``)."""
    execution = asyncio.run(_call(args, settings, "GET", _path(args.id)))
    if args.output != "table":
        print_data(execution, args.output)
    else:
        print_execution(execution)
    return 0


# --- steering -------------------------------------------------------------------------------


def _steer(
    args: argparse.Namespace, settings: GatewayAccess, method: str, path: str, done: str, body: Json | None = None
) -> int:
    answer = asyncio.run(_call(args, settings, method, path, body))
    if args.output != "table":
        print_data(answer, args.output)
    else:
        print(f"execution {args.id}: {done}")
    return 0


def run_cancel(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Cancel the execution; one that had finished is refused (exit status 2, saying so)."""
    query = f"?reason={segment(args.reason)}" if args.reason else ""
    return _steer(args, settings, "PUT", f"{_path(args.id)}/cancel{query}", "canceled")


def run_pause(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Ask Orca to pause the execution."""
    return _steer(args, settings, "PUT", f"{_path(args.id)}/pause", "pause requested")


def run_resume(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Ask Orca to resume the execution."""
    return _steer(args, settings, "PUT", f"{_path(args.id)}/resume", "resume requested")


def run_judge(args: argparse.Namespace, settings: GatewayAccess) -> int:
    """Answer the manual judgment stage; a stage judged already is refused (exit status 2, saying by whom)."""
    body: Json = {"judgmentStatus": args.judgment}
    if args.input is not None:
        body["judgmentInput"] = args.input
    path = f"{_path(args.id)}/stages/{segment(args.stage_id)}"
    return _steer(args, settings, "PATCH", path, f"stage {args.stage_id} judged {args.judgment}", body)


# --- following ------------------------------------------------------------------------------


async def follow(
    gateway: GatewayClient, execution_id: str, *, interval: float, show: Callable[[str], None] = print
) -> Json:
    """Poll the execution until it finishes, showing each stage's status as it changes; returns it finished.

    A stage that failed is shown with its reason; a judgment waiting for an answer with the command
    that answers it.
    """
    seen: dict[str, tuple[str, bool]] = {}
    while True:
        execution: Json = await gateway.request("GET", _path(execution_id))
        for stage in execution.get("stages") or []:
            status = str(stage.get("status"))
            shown = (status, judge_command(execution_id, stage) is not None)
            if status != "NOT_STARTED" and seen.get(str(stage.get("id"))) != shown:
                seen[str(stage.get("id"))] = shown
                show(f"stage {stage.get('refId')} {stage.get('name')!r} ({stage.get('type')}): {status}")
                for note in stage_notes(execution_id, stage):
                    show(f"  {note}")
        if execution.get("status") in FINISHED:
            return execution
        await asyncio.sleep(interval)
