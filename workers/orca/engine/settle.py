"""Runs the transitions a change causes at once, inside the same commit, until one has to wait.

Most of what a transition causes is another transition of the same execution that needs no
waiting: ``StartStage`` → ``RunTask`` of an instantaneous task → ``CompleteTask`` →
``CompleteStage`` → ``StartStage`` of the next stage. Sending each as a message and storing the
execution after each costs a store write per step (and the document is written whole), so a
10-stage pipeline of quick stages took some 40 writes. A workflow engine runs a workflow task to
quiescence instead; so does :class:`Settle`: it applies those commands to the execution in
memory, in the order they were caused, and hands back only what must leave the commit — events,
commands for other services, timers, and the commands left over once ``max_steps`` were taken.

Safety is the commit's, unchanged: the state after every settled step and every message those
steps caused are stored in one compare-and-set write with its outbox, or not at all (a crash
before the write redelivers the message that started it, and the steps run again from the stored
state). Each step is the very transition its message's handler would have applied, so what is
stored is what the chain of messages would have stored when delivered in that order. Events keep
their order; they are caused by the message being handled.

``max_steps`` bounds the work one message does (and the time the event loop spends on it): a
long chain of quick stages is stored every ``max_steps`` steps and goes on from the outbox.

Each step is a span of its own, as its message's handler would have been, so a trace shows every
stage and task of a run, settled or not.
"""

from __future__ import annotations

from collections import deque

from opentelemetry import trace

from bus.tracing import step_attributes
from schemas.base import Command
from schemas.orca_engine import CompleteExecution, CompleteStage, CompleteTask, ContinueRollback, RunTask, StartStage
from workers.orca.engine.message_transitions import Step, step_of
from workers.orca.engine.model import Execution, now_ms
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.transitions import Transitions

TRACER = trace.get_tracer("gennaker.orca")
SETTLED = (StartStage, RunTask, CompleteTask, CompleteStage, CompleteExecution, ContinueRollback)
"""The engine's own steps: what may run inside the commit that caused it."""


class Settle:
    """Applies an execution's own immediate engine commands in memory, up to ``max_steps``."""

    def __init__(self, transitions: Transitions, *, max_steps: int = 256) -> None:
        self.t = transitions
        self.max_steps = max_steps

    def __call__(self, execution: Execution, outgoing: list[Outgoing]) -> list[Outgoing]:
        """Settle ``outgoing`` (what a transition of ``execution`` caused, ``execution`` already
        changed): returns what is left to store in the outbox, in the order it was caused."""
        pending = deque(outgoing)
        left: list[Outgoing] = []
        steps = 0
        while pending:
            item = pending.popleft()
            step = self._step(execution, item) if steps < self.max_steps else None
            if step is None:
                left.append(item)
                continue
            steps += 1
            with TRACER.start_as_current_span(f"orca {item.message.cloudevent_type()} (settled)") as span:
                if span.is_recording():
                    span.set_attributes(step_attributes(item.message))
                pending.extend(step(execution, now_ms()))
        return left

    def _step(self, execution: Execution, item: Outgoing) -> Step | None:
        """The transition ``item``'s handler would apply, when it may run now in this commit."""
        message = item.message
        if item.due_at is not None or not isinstance(message, Command) or (item.to or message.owner()) != "orca":
            return None
        if getattr(message, "execution_id", None) != execution.id:
            return None
        if not isinstance(message, SETTLED):
            return None
        return step_of(self.t, message)
