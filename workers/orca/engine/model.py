"""An execution as Orca stores it, and its Spinnaker JSON view.

Field names are Spinnaker's (camelCase on the wire and in MongoDB, snake_case in Python), so
:meth:`Execution.to_json` is what Deck, ``spin`` and Gate clients read. A few fields are the
engine's own and never leave Orca: a task's ``token`` (which ``RunTask`` may run it) and
``wakesAt`` (when that run is due; none while it waits for a signal), the execution's
``version`` (optimistic concurrency), ``outbox`` (messages caused by stored changes and not yet
confirmed sent), ``checkAfter`` (when the reconciler should look at it if nothing happened) and
``authority``: whose rights the execution runs with, roles included, handed to every task. Clients
see Spinnaker's ``authentication {user, allowedAccounts}`` instead; roles never leave Orca.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from schemas.authority import Authority, upcast_user_to_authority
from schemas.json_types import Json
from workers.orca.engine.status import ExecutionStatus


def now_ms() -> int:
    """Epoch milliseconds, the unit of every Spinnaker timestamp."""
    return int(time.time() * 1000)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, validate_assignment=False)


class Task(_Model):
    """One task of a stage (Orca's ``TaskExecution``); ``token`` names the one ``RunTask`` it awaits."""

    id: str
    name: str
    implementing_class: str
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    start_time: int | None = None
    end_time: int | None = None
    stage_start: bool = False
    stage_end: bool = False
    loop_start: bool = False
    loop_end: bool = False
    token: str | None = None
    wakes_at: int | None = None
    attempt: int = 0
    heartbeat_at: int | None = None
    retry_due: int | None = None


class Stage(_Model):
    """One stage (Orca's ``StageExecution``): a node of the pipeline's DAG, with its tasks."""

    id: str
    ref_id: str
    type: str
    name: str
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    context: Json = Field(default_factory=dict)
    outputs: Json = Field(default_factory=dict)
    tasks: list[Task] = Field(default_factory=list)
    requisite_stage_ref_ids: list[str] = Field(default_factory=list)
    parent_stage_id: str | None = None
    synthetic_stage_owner: str | None = None
    synthetic_role: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    last_modified: Json | None = None

    def task(self, task_id: str) -> Task | None:
        """The task ``task_id`` of this stage."""
        return next((task for task in self.tasks if task.id == task_id), None)

    def failure_status(self, default: ExecutionStatus = ExecutionStatus.TERMINAL) -> ExecutionStatus:
        """What a failure makes of this stage, by its options (Orca's ``StageExecution.failureStatus``).

        ``continuePipeline: true`` → FAILED_CONTINUE; ``failPipeline: false`` or
        ``completeOtherBranchesThenFail: true`` → STOPPED (halt this branch only); else ``default``.
        """
        if self.context.get("continuePipeline") is True:
            return ExecutionStatus.FAILED_CONTINUE
        if self.context.get("failPipeline") is False or self.context.get("completeOtherBranchesThenFail") is True:
            return ExecutionStatus.STOPPED
        return default


class PausedDetails(_Model):
    """Who paused an execution and when, and who resumed it."""

    paused_by: str | None = None
    pause_time: int | None = None
    resumed_by: str | None = None
    resume_time: int | None = None
    paused_ms: int = 0

    @property
    def is_paused(self) -> bool:
        return self.pause_time is not None and self.resume_time is None


class OutboxEntry(_Model):
    """A message a stored change caused: sent now (``to`` a service, or published under
    ``routing_key``), or at ``due_at`` through a durable timer."""

    id: str
    envelope: Json
    to: str | None = None
    routing_key: str | None = None
    due_at: int | None = None
    created_at: int = Field(default_factory=now_ms)


class Execution(_Model):
    """A pipeline execution (Orca's ``PipelineExecution``)."""

    id: str
    type: str = "PIPELINE"
    application: str
    name: str
    pipeline_config_id: str | None = None
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    build_time: int
    start_time: int | None = None
    end_time: int | None = None
    trigger: Json = Field(default_factory=dict)
    stages: list[Stage] = Field(default_factory=list)
    canceled: bool = False
    canceled_by: str | None = None
    cancellation_reason: str | None = None
    paused: PausedDetails | None = None
    keep_waiting_pipelines: bool = False
    limit_concurrent: bool = False
    authentication: Json = Field(default_factory=dict)
    origin: str = "api"
    description: str | None = None
    notifications: list[Json] = Field(default_factory=list)
    initial_config: Json = Field(default_factory=dict)
    template_variables: Json | None = Field(None, description="a templated pipeline's variables (v2 templates)")
    exception: Json | None = None
    rollback: Json | None = None
    authority: Authority | None = None
    version: int = 0
    outbox: list[OutboxEntry] = Field(default_factory=list)
    check_after: int | None = None

    def acting_for(self) -> Authority:
        """The authority the execution runs with; one stored before it was recorded runs as the
        name in ``authentication`` with no roles (never more rights than the record proves)."""
        if self.authority is not None:
            return self.authority
        legacy = upcast_user_to_authority({"user": self.authentication.get("user")})
        return Authority.model_validate(legacy["authority"])

    def stage(self, stage_id: str) -> Stage | None:
        """The stage ``stage_id``."""
        return self.index.by_id.get(stage_id)

    def children(self, stage: Stage, role: str | None = None) -> list[Stage]:
        """The synthetic stages ``stage`` owns (of ``role``: before, after, failure, compensation)."""
        owned = self.index.children.get(stage.id, [])
        return [other for other in owned if role is None or other.synthetic_role == role]

    def parent(self, stage: Stage) -> Stage | None:
        """The stage that owns synthetic ``stage``; ``None`` for a top-level one."""
        return self.stage(stage.parent_stage_id) if stage.parent_stage_id else None

    def stage_by_ref(self, ref_id: str) -> Stage | None:
        """The top-level stage whose ``refId`` is ``ref_id``."""
        return self.index.top_level_by_ref.get(ref_id)

    @property
    def top_level_stages(self) -> list[Stage]:
        return list(self.index.top_level)

    @property
    def index(self) -> StageIndex:
        """The stages looked up by id, owner and ``refId`` (:class:`StageIndex`)."""
        return StageIndex.of(self)

    def to_json(self) -> Json:
        """The execution as Orca's ``GET /pipelines/{id}`` returns it."""
        document = self.model_dump(
            mode="json", by_alias=True, exclude={"version", "outbox", "check_after", "authority"}
        )
        for stage in document["stages"]:
            for task in stage["tasks"]:
                for internal in ("token", "wakesAt", "attempt", "heartbeatAt", "retryDue"):
                    task.pop(internal, None)
        if self.paused is not None:
            document["paused"]["isPaused"] = self.paused.is_paused
        return document


@dataclass
class StageIndex:
    """An execution's stages by id, by owner, and its DAGs' edges, so each lookup costs the same
    in a 2,000-stage pipeline as in a 10-stage one (a scan of every stage per lookup made a long
    pipeline's run quadratic).

    Built on first use and again whenever ``execution.stages`` is another list or another length
    (stages are added and removed, never edited in the fields indexed: id, ``refId``, owner, role,
    requisites). A *group* is one DAG: ``None`` for the top-level stages, ``(owner id, role)`` for
    synthetic ones; the first of stages sharing an id (or a top-level ``refId``) wins, as a scan
    found it.
    """

    stages: list[Stage]
    size: int
    by_id: dict[str, Stage] = field(default_factory=dict)
    top_level: list[Stage] = field(default_factory=list)
    top_level_by_ref: dict[str, Stage] = field(default_factory=dict)
    children: dict[str, list[Stage]] = field(default_factory=dict)
    groups: dict[Group, list[Stage]] = field(default_factory=dict)
    by_ref: dict[tuple[Group, str], list[Stage]] = field(default_factory=dict)
    dependents: dict[tuple[Group, str], list[Stage]] = field(default_factory=dict)
    position: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, execution: Execution) -> StageIndex:
        """``execution``'s index, rebuilt if its stages changed since it was built."""
        key = id(execution)
        known = _INDEXES.get(key)
        index = known[1] if known is not None and known[0]() is execution else None
        if index is None or index.stages is not execution.stages or index.size != len(execution.stages):
            index = cls._build(execution.stages)
            _INDEXES[key] = (weakref.ref(execution, lambda _: _INDEXES.pop(key, None)), index)
        return index

    @classmethod
    def _build(cls, stages: list[Stage]) -> StageIndex:
        index = cls(stages=stages, size=len(stages))
        for n, stage in enumerate(stages):
            index.position[id(stage)] = n
            index.by_id.setdefault(stage.id, stage)
            group = group_of(stage)
            if stage.parent_stage_id is None:
                index.top_level.append(stage)
                index.top_level_by_ref.setdefault(stage.ref_id, stage)
            else:
                index.children.setdefault(stage.parent_stage_id, []).append(stage)
            index.groups.setdefault(group, []).append(stage)
            index.by_ref.setdefault((group, stage.ref_id), []).append(stage)
            for requisite in dict.fromkeys(stage.requisite_stage_ref_ids):
                index.dependents.setdefault((group, requisite), []).append(stage)
        return index

    def in_order(self, stages: Iterable[Stage]) -> list[Stage]:
        """``stages`` once each, in the execution's order."""
        unique = {id(stage): stage for stage in stages}
        return sorted(unique.values(), key=lambda stage: self.position[id(stage)])


Group = tuple[str, str | None] | None
_INDEXES: dict[int, tuple[weakref.ref[Execution], StageIndex]] = {}
"""Each live execution's index, by ``id()`` (a model is not hashable); an entry goes with its execution."""


def group_of(stage: Stage) -> Group:
    """The DAG ``stage`` belongs to: the top-level one, or its owner's stages of its role."""
    return None if stage.parent_stage_id is None else (stage.parent_stage_id, stage.synthetic_role)
