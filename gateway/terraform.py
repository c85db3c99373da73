"""Gate's ``/terraform/runs/{runId}``: a Terraform run of a ``terraform`` stage, its log included.

The stage's context names its run (``terraformRunId``) and carries the last lines of Terraform's
output while it runs; this reads the whole stored log (its last 200 lines), the run's ``status``
(``RUNNING`` until answered), ``phase`` (``init``, ``workspace``, ``plan``…) and ``error``. It
needs READ on the run's application; a run the caller may not READ is a 404, as if it did not exist.
Never the stage's context (its ``overrides`` may be secrets).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import RootModel

from gateway.access import find_application, permissions_of
from gateway.auth.middleware import principal_of
from gateway.command_results import ask
from gateway.gate_api import error_responses, gate_json, gate_route, not_found
from gateway.routing import Response, Route
from schemas.authority import Permission, can
from schemas.json_types import Json
from schemas.terraformer import GetTerraformRun, TerraformRunFound

TAG = "terraform"


class TerraformRun(RootModel[Json]):
    """A Terraform run: ``id``, ``executionId``, ``stageId``, ``application``, ``action``, ``workspace``,
    ``user``, ``status``, ``phase``, ``startTime``, ``endTime``, ``error``, ``log`` (lines)."""


@gate_route
async def get_terraform_run(request: web.Request) -> web.Response:
    """A Terraform run with its log."""
    run_id = request.match_info["runId"]
    found = (await ask(request, GetTerraformRun(run_id=run_id[:64]), TerraformRunFound)).run
    if found is not None:
        application = await find_application(request, str(found.get("application") or ""))
        if can(principal_of(request), permissions_of(application), Permission.READ):
            return gate_json(found)
    raise not_found(f"Terraform run not found (id: {run_id[:64]})")


ROUTES = (
    Route(
        "GET",
        "/terraform/runs/{runId}",
        get_terraform_run,
        summary="Retrieve a Terraform run of a terraform stage, with its log",
        tag=TAG,
        responses={200: Response("The run", TerraformRun), **error_responses(404, 504)},
    ),
)
