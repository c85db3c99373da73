"""Front50's enforcement of pipeline locks (the rules are in :mod:`schemas.pipeline_locks`).

Checked against the stored version inside the save itself, so a lock set a moment ago is honoured
by a save already on its way; refusals are 409s naming ``locked`` and what locked the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.authority import Authority
from schemas.json_types import Json
from schemas.pipeline_locks import DEFAULT_LOCK_OWNERS, is_lock_owner, lock_of, lock_problem
from workers.front50.errors import Rejected, invalid


@dataclass(frozen=True)
class PipelineLocks:
    """The locks' judge; ``owners`` is the ``pipeline_lock_owners`` setting."""

    owners: tuple[str, ...] = DEFAULT_LOCK_OWNERS

    @staticmethod
    def check_shape(pipeline: Json) -> None:
        """400 naming the field when ``pipeline``'s ``locked`` is not Spinnaker's shape."""
        problem = lock_problem(pipeline)
        if problem is not None:
            raise invalid(problem[1], problem[0])

    def check_save(self, authority: Authority, stored: Json | None, pipeline: Json) -> None:
        """409 unless ``authority`` may replace ``stored`` by ``pipeline`` (see the module docstring);
        400 for a new lock that nobody but a lock owner could remove."""
        if is_lock_owner(authority, self.owners):
            return
        lock = lock_of(stored)
        if lock is not None:
            if lock_of(pipeline) is not None:
                raise self._locked(
                    stored, lock.what(), "unlock it first (save it without locked.ui) if its lock allows"
                )
            if not lock.allow_unlock_ui:
                raise self._locked(stored, lock.what(), "it cannot be unlocked from the UI or the API")
        new = lock_of(pipeline)
        if new is not None and not new.allow_unlock_ui:
            raise invalid(
                f"{authority.described()} may lock a pipeline only with locked.allowUnlockUi true: a lock that cannot "
                f"be unlocked is for the services in pipeline_lock_owners ({', '.join(self.owners) or 'none'})",
                "locked.allowUnlockUi",
            )

    def check_change(self, authority: Authority, stored: Json, doing: str) -> None:
        """409 unless ``authority`` may rename or delete ``stored`` (``doing`` says which)."""
        lock = lock_of(stored)
        if lock is not None and not is_lock_owner(authority, self.owners):
            raise self._locked(stored, lock.what(), f"unlock it before you {doing} it")

    @staticmethod
    def _locked(stored: Json | None, what: str, advice: str) -> Rejected:
        body = stored or {}
        name = f"pipeline {body.get('name')!r} of application {body.get('application')!r}"
        return Rejected(409, f"{name} is locked: {what}; {advice}", "locked")
