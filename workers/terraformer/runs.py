"""One Terraform run: fetch its files into a working directory of its own, ``init``, select the
workspace, do the action, and read back what a pipeline needs.

``plan`` saves its plan (:data:`~workers.terraformer.commands.PLAN_OUT`) and reads it with
``terraform show -json`` into ``planSummary`` (counts and resource lines); the plan becomes the
``planfile`` artifact, embedded when small, else stored by Terraformer (``terraformer/planfile``,
its reference the run; always so under ``[terraformer] planfiles = "stored"``, which keeps the
values a plan holds out of the execution). ``apply`` of a planfile applies exactly it: Terraform refuses one whose
state changed since (a stale plan), and the run says so. ``apply``, ``destroy`` and ``output``
then read ``terraform output -json``: outputs become the stage's outputs by name (but for the
names of :data:`RESERVED`), sensitive ones never leave Terraform (only their names, under
``sensitiveOutputs``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from schemas.json_types import Json
from schemas.orca_engine import TaskOutcome
from workers.terraformer import commands
from workers.terraformer.process import LineSink, TerraformProcess
from workers.terraformer.request import TerraformRequest
from workers.terraformer.sources import SourceRefused, Sources, directory, read_bytes, relative, write_file
from workers.terraformer.store import TerraformerStore

MAX_EMBEDDED_PLAN = 1024 * 1024
STORED_PLANFILE = "terraformer/planfile"


class Canceled(Exception):
    """The run was asked to stop and Terraform stopped."""


class RunFailed(Exception):
    """Terraform, or what the run needs, failed; the message says what."""


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the task's status, its outputs and context, its error."""

    status: TaskOutcome
    outputs: Json = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunEnvironment:
    """What a run runs with: where, which Terraform, which environment, and the runner's hooks."""

    work: Path
    argv: list[str]
    env: dict[str, str]
    redact: Callable[[str], str]
    sink: LineSink
    note: Callable[[Json], Awaitable[None]]
    """Stores facts about the run (its phase, its state lock) as they become known."""
    started: Callable[[TerraformProcess | None], None]
    """Tells the runner which process to stop on a cancel (``None``: none runs now)."""
    canceled: Callable[[], bool]
    filesystem_mirror: Path | None = None
    embed_planfiles: bool = True


def _errors(printed: str) -> str:
    lines = [line.strip() for line in printed.splitlines()]
    found: list[str] = []
    for n, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = next((item for item in lines[n + 1 : n + 8] if item and not item.startswith(("on ", "with "))), "")
            found.append(f"{line} {detail}".strip())
    return "; ".join(found[:3]) or (lines[-1] if lines else "")


def cli_config(mirror: Path | None) -> str:
    """Terraform's CLI configuration for a run: the provider mirror when one is set, else nothing."""
    if mirror is None:
        return "# no provider mirror is set ([terraformer] filesystem_mirror)\n"
    quoted = json.dumps(str(mirror))
    return f"provider_installation {{\n  filesystem_mirror {{\n    path = {quoted}\n  }}\n}}\n"


def state_lock_of(config_dir: Path, workspace: str | None) -> Json:
    """Where the state (and its lock) of the backend ``init`` configured lives, as far as Terraform tells."""
    try:
        backend = json.loads((config_dir / ".terraform" / "terraform.tfstate").read_text()).get("backend") or {}
    except (OSError, ValueError):
        backend = {"type": "local", "config": {}}
    kind = str(backend.get("type") or "local")
    if kind != "local":
        return {"backend": kind}
    config = backend.get("config") or {}
    if workspace and workspace != "default":
        root = config_dir / str(config.get("workspace_dir") or "terraform.tfstate.d")
        state = root / workspace / Path(str(config.get("path") or "terraform.tfstate")).name
    else:
        state = config_dir / str(config.get("path") or "terraform.tfstate")
    return {"backend": "local", "state": str(state), "lock_info": str(state.parent / f".{state.name}.lock.info")}


class TerraformRun:
    """Carries out one :class:`TerraformRequest` in ``environment.work``."""

    def __init__(self, request: TerraformRequest, sources: Sources, store: TerraformerStore, run_id: str) -> None:
        self.request = request
        self.sources = sources
        self.store = store
        self.run_id = run_id

    async def _terraform(self, env: RunEnvironment, cwd: Path, args: list[str], phase: str) -> tuple[int, str]:
        """Run one command; its exit status and output. JSON output (which holds sensitive values)
        is read, never put in the log."""
        if env.canceled():
            raise Canceled()
        await env.note({"phase": phase})
        await env.sink(f"$ terraform {' '.join(_shown_args(args))}")
        process = await TerraformProcess.start([*env.argv, *args], cwd=cwd, env=env.env, redact=env.redact)
        env.started(process)
        await env.note({"pid": process.pid})
        quiet = "-json" in args

        async def sink(line: str) -> None:
            if not quiet:
                await env.sink(line)

        code, printed = await process.wait(sink)  # cancelled: the runner stops the process it was told of
        env.started(None)
        if quiet:
            await env.sink(f"(its JSON was read by Terraformer, not shown: exit status {code})")
        if process.stopping or env.canceled():
            raise Canceled()
        return code, printed

    async def _checked(self, env: RunEnvironment, cwd: Path, args: list[str], phase: str) -> str:
        code, printed = await self._terraform(env, cwd, args, phase)
        if code != 0:
            raise RunFailed(f"terraform {args[0]} failed (exit status {code}): {_errors(printed)}")
        return printed

    async def _planfile(self, artifact: Json, into: Path, application: str) -> Path:
        if artifact.get("type") != STORED_PLANFILE:
            return await self.sources.file(artifact, into, "artifacts.planfile", "planfile")
        stored = await self.store.planfile(str(artifact.get("reference") or ""))
        if stored is None or stored[1] != application:
            raise SourceRefused("artifacts.planfile", f"Terraformer has no planfile {artifact.get('reference')!r}")
        return write_file(into, "planfile", stored[0])

    async def carry_out(self, env: RunEnvironment, application: str) -> Outcome:
        """Run the request; :class:`Canceled`, :class:`RunFailed` or :class:`SourceRefused` when it cannot end well."""
        request = self.request
        await env.note({"phase": "fetching"})
        root = await self.sources.configuration(request.configuration, env.work / "src", request.configuration_field)
        config_dir = directory(root / relative(request.dir, "dir"), "dir", f"{request.dir!r} is not a directory of it")
        var_files = [
            await self.sources.file(artifact, env.work / "vars", where, f"{n}.tfvars")
            for n, (where, artifact) in enumerate(request.var_files)
        ]
        backend = (
            await self.sources.file(request.backend, env.work / "backend", "backendArtifact", "backend.tfbackend")
            if request.backend
            else None
        )
        planfile = await self._planfile(request.planfile, env.work / "plan", application) if request.planfile else None
        write_file(env.work, "terraform.rc", cli_config(env.filesystem_mirror).encode())
        await self._checked(env, config_dir, commands.init(backend), "init")
        if request.workspace:
            await self._checked(env, config_dir, commands.select_workspace(request.workspace), "workspace")
        await env.note({"state_lock": state_lock_of(config_dir, request.workspace)})
        args = commands.action(
            request.action,
            var_files=var_files,
            overrides=request.overrides,
            targets=request.targets,
            lock=request.lock,
            plan_for_destroy=request.plan_for_destroy,
            planfile=planfile,
        )
        outputs: Json = {"workspace": request.workspace or "default"}
        if args is None:
            return Outcome("SUCCEEDED", outputs)
        code, printed = await self._terraform(env, config_dir, args, request.action)
        if code != 0:
            if planfile is not None and "stale" in printed.lower():
                raise RunFailed(
                    "the planfile is stale: the state changed after it was planned, so Terraform refused to apply it "
                    "(Saved plan is stale); run the plan stage again and apply the new plan"
                )
            raise RunFailed(f"terraform {request.action} failed (exit status {code}): {_errors(printed)}")
        if request.action == "plan":
            outputs |= await self._plan_outputs(env, config_dir, application)
        elif request.action == "show":
            outputs |= self._shown(printed)
        if request.action == "output":
            outputs |= _outputs_of(printed)
        elif request.action in ("apply", "destroy"):
            outputs |= _outputs_of(await self._checked(env, config_dir, ["output", "-no-color", "-json"], "output"))
        return Outcome("SUCCEEDED", outputs)

    async def _plan_outputs(self, env: RunEnvironment, config_dir: Path, application: str) -> Json:
        shown = await self._checked(env, config_dir, ["show", "-no-color", "-json", commands.PLAN_OUT], "show")
        summary = commands.plan_summary(_json(shown, "show -json"))
        data = read_bytes(config_dir / commands.PLAN_OUT)
        metadata = {"runId": self.run_id, "workspace": self.request.workspace or "default", "summary": summary["text"]}
        if env.embed_planfiles and len(data) <= MAX_EMBEDDED_PLAN:
            reference = base64.b64encode(data).decode()
            artifact = {"type": "embedded/base64", "name": "planfile", "reference": reference, "metadata": metadata}
        else:
            await self.store.save_planfile(self.run_id, data, application, int(time.time() * 1000))
            artifact = {"type": STORED_PLANFILE, "name": "planfile", "reference": self.run_id, "metadata": metadata}
        await env.sink(summary["text"])
        return {"planSummary": summary, "artifacts": [artifact]}

    def _shown(self, printed: str) -> Json:
        state = _json(printed, "show -json")
        values = state.get("values") or {}
        resources = [item.get("address") for item in (values.get("root_module") or {}).get("resources") or []]
        shown, hidden = commands.visible_outputs(values.get("outputs") or {})
        return {**_by_name(shown), "resources": resources, "sensitiveOutputs": hidden}


def _shown_args(args: list[str]) -> list[str]:
    """A command line as the log shows it: ``-var`` values hidden (an override may be a secret)."""
    return [
        arg.split("=", 2)[0] + "=" + arg.split("=", 2)[1] + "=…" if arg.startswith("-var=") else arg for arg in args
    ]


RESERVED = frozenset({"artifacts", "planSummary", "workspace", "sensitiveOutputs", "resources", "terraformLog"})


def _by_name(outputs: Json) -> Json:
    """Outputs as stage outputs by their names (``#stage('tf')['outputs']['bucket']``), never over a key of ours."""
    return {name: value for name, value in outputs.items() if name not in RESERVED}


def _outputs_of(printed: str) -> Json:
    """``terraform output -json``'s outputs as stage outputs, sensitive ones only by name."""
    shown, hidden = commands.visible_outputs(_json(printed, "output -json"))
    return {**_by_name(shown), "sensitiveOutputs": hidden}


def _json(printed: str, what: str) -> Json:
    start = printed.find("{")
    try:
        found, _ = json.JSONDecoder().raw_decode(printed[start:]) if start >= 0 else (None, 0)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise RunFailed(f"terraform {what} printed no JSON object")
    return found
