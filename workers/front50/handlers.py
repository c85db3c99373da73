"""One handler per Front50 message: commands answer with one event, queries with their reply.

Each command handler says how to decide (check the input, build the stored JSON, save) and, for
deletes, how to apply the decision; :func:`workers.front50.once.answer_once` makes that happen
once per command and publishes the result. The shapes follow Spinnaker's Front50: ``updateTs`` and
``createTs`` are strings of epoch millis, a pipeline without an ``id`` gets a UUID, application
names are returned upper-cased, and every name lookup is case-insensitive. Every command is judged
by the authority it carries before anything is decided (:mod:`workers.front50.access`).

One module per kind of entity: :mod:`~workers.front50.applications`, :mod:`~workers.front50.pipelines`
(with strategies), :mod:`~workers.front50.pipeline_templates`, :mod:`~workers.front50.projects`,
:mod:`~workers.front50.notifications`, :mod:`~workers.front50.service_accounts`
(canary configs: :mod:`~workers.front50.canary_configs`);
what they share on the way to a save is :mod:`~workers.front50.bodies`.
"""

from __future__ import annotations

from schemas.limits import PipelineLimits
from workers.front50.access import Front50Access
from workers.front50.applications import ApplicationHandlers
from workers.front50.locks import PipelineLocks
from workers.front50.notifications import NotificationHandlers
from workers.front50.pipeline_templates import PipelineTemplateHandlers
from workers.front50.pipelines import PipelineHandlers
from workers.front50.projects import ProjectHandlers
from workers.front50.service_accounts import ServiceAccountHandlers
from workers.front50.store import Front50Store


class Front50Handlers:
    """Front50's handlers over one :class:`Front50Store`, one module per kind of entity."""

    def __init__(
        self,
        store: Front50Store,
        access: Front50Access | None = None,
        limits: PipelineLimits | None = None,
        locks: PipelineLocks | None = None,
    ) -> None:
        self.store = store
        self.access = access or Front50Access(store)
        self.limits = limits or PipelineLimits()
        self.applications = ApplicationHandlers(store, self.access)
        self.pipelines = PipelineHandlers(store, self.access, self.limits, locks)
        self.templates = PipelineTemplateHandlers(store, self.access, self.limits)
        self.projects = ProjectHandlers(store, self.access)
        self.notifications = NotificationHandlers(store, self.access)
        self.service_accounts = ServiceAccountHandlers(store, self.access)
