"""Every Gate route for every kind of caller: the status each gets, and nothing leaked to those who may not READ.

One system runs for the whole module (static tokens, :data:`AUTH`). The restricted application
``vault`` gives each Fiat authorisation to its own role (:data:`RESTRICTED`), so every persona
holds exactly the authorisations its roles list — WRITE does not imply READ, and EXECUTE does not
fall back to READ because the EXECUTE list is not empty. The ``local`` account ``vault-prod``
gives READ to the readers and WRITE to the writers; ``sandbox`` is open. So does the Jenkins
master ``vault-ci`` (Igor, against ``tests/jenkins_server.py``); ``open-ci`` is open:

============  ==================================  ===========================
persona       roles                               on ``vault`` / ``vault-prod``
============  ==================================  ===========================
reader        vault-readers                       READ
writer        vault-writers                       WRITE only (Fiat: cannot READ)
maintainer    vault-readers, vault-writers        READ + WRITE (Deck's "read and write")
executor      vault-executors                     EXECUTE only (``vault-prod``: nothing)
deployer      all three                           READ + WRITE + EXECUTE
stranger      guests                              nothing (authenticated)
anonymous     (no token)                          401 everywhere
============  ==================================  ===========================

Expected statuses (R = reader, W = writer, M = maintainer, X = executor, D = deployer,
S = stranger, A = anonymous):

=====================================================================  ===  ===  ===  ===  ===  ===  ===
endpoint (on ``vault`` unless said)                                    R    W    M    X    D    S    A
=====================================================================  ===  ===  ===  ===  ===  ===  ===
GET /applications, /pipelineConfigs, /credentials (filtered lists)     200  200  200  200  200  200  401
GET /projects/{id}/pipelines, /auth/user, /version                     200  200  200  200  200  200  401
GET /applications/{app}, …/history, …/tasks, …/pipelineConfigs[/n]    200  403  200  403  200  403  401
GET /tasks/{id}, /pipelineConfigs/{id}/history                         200  403  200  403  200  403  401
GET the two above for a *deleted* restricted application               200  403  200  403  200  403  401
GET /credentials/vault-prod                                            200  403  200  403  200  403  401
GET /applications/open, /credentials/sandbox (unrestricted)            200  200  200  200  200  200  401
POST /tasks, /applications/{app}/tasks: create/update/delete vault     403  200  200  403  200  403  401
POST /applications/open/tasks deleting vault; naming it VAULT          403  200  200  403  200  403  401
POST /tasks createApplication of a deleted restricted application      403  200  200  403  200  403  401
POST /tasks createApplication of a brand-new application               200  200  200  200  200  200  401
PUT /tasks/{id}/cancel (Orca: EXECUTE)                                 403  403  403  200  200  403  401
POST /pipelines, DELETE /pipelines/…, /pipelines/move, reorder         403  200  200  403  200  403  401
POST /pipelines into ``open`` reusing the id of a ``vault`` pipeline   403  200  200  403  200  403  401
POST /pipelines into ``open``                                          200  200  200  200  200  200  401
GET /v2/builds, /v3/builds (filtered lists of masters)                 200  200  200  200  200  200  401
GET /v2|v3/builds/vault-ci/…: jobs, a job, builds, a build             200  403  200  403  200  403  401
GET /v3/builds/vault-ci/build/{n}/consoleText                          200  403  200  403  200  403  401
GET /v2|v3/builds/open-ci/… (the same routes on an open master)        200  200  200  200  200  200  401
=====================================================================  ===  ===  ===  ===  ===  ===  ===

Clouddriver's operations, run as pipelines of ``vault`` (Gate: EXECUTE, 202; then Clouddriver judges
the execution's authority itself: ok = SUCCEEDED, account = TERMINAL naming the account and the
permission missing, app = TERMINAL because the cluster is another application's):

=====================================================================  ===  ===  ===  =======  ====  ===  ===
pipeline of ``vault`` (POST /pipelines/vault/{name})                   R    W    M    X        D     S    A
=====================================================================  ===  ===  ===  =======  ====  ===  ===
destroyServerGroup in ``vault-prod`` (WRITE on the account)            403  403  403  account  ok    403  401
destroyServerGroup in ``sandbox`` (open account)                       403  403  403  ok       ok    403  401
clusterSize precondition in ``vault-prod`` (READ on the account)       403  403  403  account  ok    403  401
disableCluster of ``open``'s cluster in ``sandbox``                    403  403  403  app      app   403  401
=====================================================================  ===  ===  ===  =======  ====  ===  ===

Every cell is its own test. A cell that changes something gets an application of its own, made
for it; when it is refused, that application is checked unchanged. The lists must not show a
restricted application, its pipelines or its account to whoever may not READ them, no answer to
such a caller may carry a restricted application's secrets (:data:`SECRETS`), and every refusal
is Spinnaker's ``{error, message, status, timestamp}``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

import pytest
import pytest_asyncio
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from gateway.auth.tokens import hash_token
from gateway.command_results import CommandResults
from schemas.auth_settings import AuthConfig, StaticUser
from schemas.front50 import SaveProject
from schemas.igor import IgorSettings, JenkinsMasterConfig
from schemas.json_types import Json
from tests.authorities import ADMIN as ADMIN_AUTHORITY
from tests.integration.gate.conftest import Client, System, eventually, start_system
from tests.integration.gate.flows import FINISHED, create_application, create_application_task, exported_pipeline
from tests.jenkins_server import TOKEN, USER, JenkinsServer, jenkins_app

pytestmark = pytest.mark.asyncio(loop_scope="module")


READERS, WRITERS, EXECUTORS = "vault-readers", "vault-writers", "vault-executors"
RESTRICTED = {"READ": [READERS], "WRITE": [WRITERS], "EXECUTE": [EXECUTORS]}
PERSONA_ROLES: dict[str, tuple[str, ...]] = {
    "reader": (READERS,),
    "writer": (WRITERS,),
    "maintainer": (READERS, WRITERS),
    "executor": (EXECUTORS,),
    "deployer": (READERS, WRITERS, EXECUTORS),
    "stranger": ("guests",),
}
PERSONAS = (*PERSONA_ROLES, "anonymous")
MAY_READ = frozenset({"reader", "maintainer", "deployer"})
"""The personas who may READ ``vault`` and ``vault-prod``."""

SECRETS = ("vault-owners@example.com", "SECRET-APPLICATION", "SECRET-PIPELINE")
"""What only those who may READ a restricted application may ever see."""

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ACCOUNTS: list[Json] = [
    {
        "name": "vault-prod",
        "type": "local",
        "permissions": {"READ": [READERS], "WRITE": [WRITERS]},
        "local": {"artifactDirs": [str(EXAMPLES)]},
    },
    {"name": "sandbox", "type": "local", "local": {"artifactDirs": [str(EXAMPLES)]}},
]
OPERATIONS: dict[str, Json] = {
    "destroy-in-prod": {
        "type": "destroyServerGroup",
        "serverGroupName": "vault-prod-v000",
        "credentials": "vault-prod",
    },
    "destroy-in-sandbox": {
        "type": "destroyServerGroup",
        "serverGroupName": "vault-prod-v000",
        "credentials": "sandbox",
    },
    "look-in-prod": {
        "type": "checkPreconditions",
        "preconditions": [
            {
                "type": "clusterSize",
                "context": {"credentials": "vault-prod", "cluster": "vault-prod", "regions": ["local"], "expected": 0},
            }
        ],
    },
    "touch-open": {"type": "disableCluster", "cluster": "open-prod", "credentials": "sandbox", "regions": ["local"]},
}
"""Pipelines of ``vault`` running one Clouddriver operation each (the second table of the docstring)."""
OUTCOMES: dict[str, dict[str, str]] = {
    "destroy-in-prod": {"executor": "account", "deployer": "ok"},
    "destroy-in-sandbox": {"executor": "ok", "deployer": "ok"},
    "look-in-prod": {"executor": "account", "deployer": "ok"},
    "touch-open": {"executor": "app", "deployer": "app"},
}
AUTH = AuthConfig(
    mode="static",
    users=(
        StaticUser(username="admin", token_sha256=hash_token("token-admin"), admin=True),
        *(
            StaticUser(username=persona, token_sha256=hash_token(f"token-{persona}"), roles=roles)
            for persona, roles in PERSONA_ROLES.items()
        ),
    ),
)


def headers_of(persona: str) -> dict[str, str]:
    """The persona's credentials (none for ``anonymous``)."""
    return {} if persona == "anonymous" else {"Authorization": f"Bearer token-{persona}"}


ADMIN = headers_of("admin")


@dataclass
class Target:
    """An application a cell acts on: its name, its pipelines (name → id) and the task that created it."""

    app: str
    pipelines: dict[str, str]
    task: str


@dataclass
class World:
    """The module's system and what is seeded in it."""

    system: System
    vault: Target
    gone: Target
    open: Target
    project: str
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def client(self) -> Client:
        return self.system.client

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    async def fresh(self, *, deleted: bool = False) -> Target:
        """A new restricted application for one cell, deleted first when ``deleted``."""
        return await seed(self.client, self.unique("vault-fresh"), RESTRICTED, deleted=deleted)


async def admin_json(client: Client, path: str) -> Any:
    response = await client.get(path, headers=ADMIN)
    assert response.status == 200, (path, await response.text())
    return await response.json()


async def settle(client: Client, ref: str) -> Json:
    """The task at ``ref`` once finished, as the admin sees it."""
    task: Json = await eventually(lambda: admin_json(client, ref), lambda task: task["status"] in FINISHED)
    return task


async def seed(client: Client, name: str, permissions: Json | None, *, deleted: bool = False) -> Target:
    """An application with pipelines ``deploy`` and ``canary``; restricted ones carry :data:`SECRETS`."""
    secret = permissions is not None
    attributes: Json = {"permissions": permissions} if secret else {}
    if secret:
        attributes |= {"email": "vault-owners@example.com", "description": "SECRET-APPLICATION"}
    created = await create_application(client, name, headers=ADMIN, **attributes)
    pipelines: dict[str, str] = {}
    for pipeline_name in ("deploy", "canary"):
        body = exported_pipeline(name, pipeline_name)
        if secret:
            body["description"] = "SECRET-PIPELINE"
        saved = await client.post("/pipelines", json=body, headers=ADMIN)
        assert saved.status == 200, await saved.text()
        pipelines[pipeline_name] = (await saved.json())["id"]
    if name == "vault":
        for pipeline_name, stage in OPERATIONS.items():
            body = {
                "application": name,
                "name": pipeline_name,
                "stages": [{"refId": "1", "name": pipeline_name, **stage}],
            }
            saved = await client.post("/pipelines", json=body, headers=ADMIN)
            assert saved.status == 200, await saved.text()
            pipelines[pipeline_name] = (await saved.json())["id"]
    if deleted:
        job = {"type": "deleteApplication", "application": {"name": name}}
        response = await client.post("/tasks", json={"application": name, "job": [job]}, headers=ADMIN)
        assert (await settle(client, (await response.json())["ref"]))["status"] == "SUCCEEDED"
    return Target(app=name, pipelines=pipelines, task=created["id"])


def masters(address: str) -> IgorSettings:
    """``vault-ci`` guarded as ``vault-prod`` is (READ for readers, WRITE for writers); ``open-ci`` open."""
    login = {"address": address, "username": USER, "password": TOKEN}
    guarded = {"name": "vault-ci", "permissions": {"READ": [READERS], "WRITE": [WRITERS]}, **login}
    return IgorSettings(
        jenkins=[
            JenkinsMasterConfig.model_validate(guarded),
            JenkinsMasterConfig.model_validate({"name": "open-ci", **login}),
        ],
        poll_interval=3600,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        jenkins = JenkinsServer(csrf=False)
        jenkins.add_job(JOB)
        jenkins.enqueue(JOB)  # build 1, done by the first read that asks for it
        ci: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
        await ci.start_server()
        stack.push_async_callback(ci.close)
        igor = masters(str(ci.make_url("")).rstrip("/"))
        system = await start_system(stack, auth=AUTH, accounts=ACCOUNTS, igor=igor)
        vault = await seed(system.client, "vault", RESTRICTED)
        gone = await seed(system.client, "vault-gone", RESTRICTED, deleted=True)
        opened = await seed(system.client, "open", None)
        project = {"name": "portfolio", "email": "p@example.com", "config": {"applications": ["vault", "open"]}}
        results = CommandResults(system.bus)
        saved = await results.send(SaveProject(authority=ADMIN_AUTHORITY, project=project))
        await results.stop()
        project_id = saved.data["project"].get("id") or "portfolio"
        yield World(system=system, vault=vault, gone=gone, open=opened, project=project_id)


# --- the rows ------------------------------------------------------------------------------

Call = Callable[[World, Target, dict[str, str]], Awaitable[ClientResponse]]
Check = Callable[[World, Target, str, Any], Awaitable[None]]


def expect(*allowed: str) -> dict[str, int]:
    """200 for the ``allowed`` personas, 403 for the other authenticated ones, 401 for anonymous."""
    return {persona: 200 if persona in allowed else 403 for persona in PERSONA_ROLES} | {"anonymous": 401}


EVERYONE = expect(*PERSONA_ROLES)
READ = expect("reader", "maintainer", "deployer")
WRITE = expect("writer", "maintainer", "deployer")
EXECUTE = expect("executor", "deployer")
RUN = {persona: 202 if status == 200 else status for persona, status in EXECUTE.items()}
"""Triggering a pipeline: 202 for who may EXECUTE it."""


@dataclass(frozen=True)
class Row:
    """One endpoint (one way of calling it) and the status each persona must get.

    ``target`` is the application it acts on: one seeded for the module (``vault``, the deleted
    ``gone``, the unrestricted ``open``) or, for a cell that changes something, one made for that
    cell (``fresh``, or ``fresh-deleted``). ``check`` looks at a 200's body.
    """

    name: str
    call: Call
    expect: dict[str, int]
    target: Literal["vault", "gone", "open", "fresh", "fresh-deleted"] = "vault"
    check: Check | None = None


def get(path: Callable[[World, Target], str]) -> Call:
    async def call(world: World, target: Target, headers: dict[str, str]) -> ClientResponse:
        return await world.client.get(path(world, target), headers=headers)

    return call


def trigger_path(pipeline_name: str) -> Callable[[Target], str]:
    return lambda target: f"/pipelines/{target.app}/{pipeline_name}"


def post(path: Callable[[Target], str], body: Callable[[World, Target], Json]) -> Call:
    async def call(world: World, target: Target, headers: dict[str, str]) -> ClientResponse:
        return await world.client.post(path(target), json=body(world, target), headers=headers)

    return call


async def no_check(world: World, target: Target, persona: str, body: Any) -> None:
    return None


def _names(items: list[Json]) -> set[str]:
    return {str(item["name"]).lower() for item in items}


async def check_application_list(world: World, target: Target, persona: str, body: Any) -> None:
    names = _names(body)
    assert ("vault" in names) == (persona in MAY_READ)
    assert "open" in names and "vault-gone" not in names
    if persona not in MAY_READ:
        assert all(not app.get("permissions") for app in body), "a restricted application is listed"


async def check_pipeline_list(world: World, target: Target, persona: str, body: Any) -> None:
    ids = {pipeline["id"] for pipeline in body}
    assert set(world.open.pipelines.values()) <= ids
    assert (set(world.vault.pipelines.values()) <= ids) == (persona in MAY_READ)
    if persona not in MAY_READ:
        assert {str(pipeline["application"]).lower() for pipeline in body} == {"open"}


async def check_account_list(world: World, target: Target, persona: str, body: Any) -> None:
    assert ("vault-prod" in _names(body)) == (persona in MAY_READ)
    assert "sandbox" in _names(body)


async def check_user(world: World, target: Target, persona: str, body: Any) -> None:
    assert body["username"] == persona
    assert body["roles"] == sorted(PERSONA_ROLES[persona])


async def names_application(world: World, target: Target, persona: str, body: Any) -> None:
    assert str(body["name"]).lower() == target.app
    assert body["attributes"]["description"] == "SECRET-APPLICATION"


async def check_tasks(world: World, target: Target, persona: str, body: Any) -> None:
    assert target.task in {task["id"] for task in body}


async def check_task(world: World, target: Target, persona: str, body: Any) -> None:
    assert body["id"] == target.task


async def check_pipelines(world: World, target: Target, persona: str, body: Any) -> None:
    assert {pipeline["id"] for pipeline in body} == set(target.pipelines.values())


async def check_history(world: World, target: Target, persona: str, body: Any) -> None:
    assert body and {version["id"] for version in body} == {target.pipelines["deploy"]}


def outcome_of(execution: Json) -> str:
    """``ok``, ``account`` or ``app``: how Clouddriver judged the pipeline's operation."""
    if execution["status"] == "SUCCEEDED":
        return "ok"
    errors = [
        str(((stage.get("context") or {}).get("exception") or {}).get("details", {}).get("error", ""))
        for stage in execution["stages"]
    ]
    error = next((text for text in errors if "access denied" in text), "")
    if "permission on account 'vault-prod'" in error:
        return "account"
    if "may not change cluster 'open-prod', which belongs to application 'open'" in error:
        return "app"
    return f"{execution['status']}: {errors}"


def operation_judged(pipeline_name: str) -> Check:
    async def check(world: World, target: Target, persona: str, body: Any) -> None:
        execution: Json = await eventually(
            lambda: admin_json(world.client, body["ref"]), lambda execution: execution["status"] in FINISHED
        )
        assert outcome_of(execution) == OUTCOMES[pipeline_name][persona], execution
        if persona == "executor" and OUTCOMES[pipeline_name][persona] == "account":
            error = str(execution["stages"][0]["context"]["exception"]["details"]["error"])
            assert "user 'executor' lacks" in error and "on account 'vault-prod'" in error, error

    return check


async def task_succeeds(world: World, target: Target, persona: str, body: Any) -> None:
    assert (await settle(world.client, body["ref"]))["status"] == "SUCCEEDED"


def create_job(world: World, target: Target) -> Json:
    return create_application_task(target.app)


def update_job(world: World, target: Target) -> Json:
    job = {"type": "updateApplication", "application": {"name": target.app, "description": "changed"}}
    return {"application": target.app, "job": [job]}


def delete_job(world: World, target: Target) -> Json:
    return {"application": target.app, "job": [{"type": "deleteApplication", "application": {"name": target.app}}]}


def to_tasks(target: Target) -> str:
    return "/tasks"


def to_application_tasks(target: Target) -> str:
    return f"/applications/{target.app}/tasks"


async def cancel(world: World, target: Target, headers: dict[str, str]) -> ClientResponse:
    return await world.client.put(f"/tasks/{target.task}/cancel", headers=headers)


async def delete_pipeline(world: World, target: Target, headers: dict[str, str]) -> ClientResponse:
    return await world.client.delete(f"/pipelines/{target.app}/deploy", headers=headers)


JOB = "app-build"
BUILD_ROUTES: dict[str, Callable[[str], str]] = {
    "GET /v2/builds/{master}/jobs": lambda master: f"/v2/builds/{master}/jobs",
    "GET /v3/builds/{master}/jobs": lambda master: f"/v3/builds/{master}/jobs",
    "GET /v2/builds/{master}/jobs/{job}": lambda master: f"/v2/builds/{master}/jobs/{JOB}",
    "GET /v3/builds/{master}/job": lambda master: f"/v3/builds/{master}/job?job={JOB}",
    "GET /v2/builds/{master}/builds/{job}": lambda master: f"/v2/builds/{master}/builds/{JOB}",
    "GET /v3/builds/{master}/builds": lambda master: f"/v3/builds/{master}/builds?job={JOB}",
    "GET /v2/builds/{master}/build/{number}/{job}": lambda master: f"/v2/builds/{master}/build/1/{JOB}",
    "GET /v3/builds/{master}/build/{number}": lambda master: f"/v3/builds/{master}/build/1?job={JOB}",
    "GET /v3/builds/{master}/build/{number}/consoleText": lambda master: (
        f"/v3/builds/{master}/build/1/consoleText?job={JOB}"
    ),
}
"""Every route of Gate's ``/v2/builds`` and ``/v3/builds`` that names a master."""


async def check_masters(world: World, target: Target, persona: str, body: Any) -> None:
    assert body == (["open-ci", "vault-ci"] if persona in MAY_READ else ["open-ci"])


def build_route(master: str, path: Callable[[str], str]) -> Call:
    return get(lambda w, t: path(master))


async def check_build_read(world: World, target: Target, persona: str, body: Any) -> None:
    """Igor answered from the master: the job, its build, or the build's console text."""
    if isinstance(body, str):
        assert f"Building {JOB}" in body, body
    else:
        assert JOB in str(body), body


ROWS: tuple[Row, ...] = (
    # reads: filtered lists answer everyone, named resources need READ
    Row("GET /applications", get(lambda w, t: "/applications"), EVERYONE, check=check_application_list),
    Row("GET /applications/{app}", get(lambda w, t: f"/applications/{t.app}"), READ, check=names_application),
    Row("GET /applications/{app}/history", get(lambda w, t: f"/applications/{t.app}/history"), READ),
    Row("GET /applications/{app}/tasks", get(lambda w, t: f"/applications/{t.app}/tasks"), READ, check=check_tasks),
    Row("GET /tasks/{id}", get(lambda w, t: f"/tasks/{t.task}"), READ, check=check_task),
    Row(
        "GET /applications/{app}/pipelineConfigs",
        get(lambda w, t: f"/applications/{t.app}/pipelineConfigs"),
        READ,
        check=check_pipelines,
    ),
    Row(
        "GET /applications/{app}/pipelineConfigs/{name}",
        get(lambda w, t: f"/applications/{t.app}/pipelineConfigs/deploy"),
        READ,
    ),
    Row("GET /pipelineConfigs", get(lambda w, t: "/pipelineConfigs"), EVERYONE, check=check_pipeline_list),
    Row(
        "GET /pipelineConfigs/{id}/history",
        get(lambda w, t: f"/pipelineConfigs/{t.pipelines['deploy']}/history"),
        READ,
        check=check_history,
    ),
    Row("GET /projects/{id}/pipelines", get(lambda w, t: f"/projects/{w.project}/pipelines"), EVERYONE),
    Row("GET /credentials", get(lambda w, t: "/credentials"), EVERYONE, check=check_account_list),
    Row("GET /credentials/{restricted}", get(lambda w, t: "/credentials/vault-prod"), READ),
    Row("GET /credentials/{open}", get(lambda w, t: "/credentials/sandbox"), EVERYONE),
    Row("GET /auth/user", get(lambda w, t: "/auth/user"), EVERYONE, check=check_user),
    Row("GET /version", get(lambda w, t: "/version"), EVERYONE),
    Row("GET /applications/{open}", get(lambda w, t: f"/applications/{t.app}"), EVERYONE, target="open"),
    # what a deleted restricted application leaves behind stays guarded by its last permissions
    Row("GET /tasks/{id} of a deleted app", get(lambda w, t: f"/tasks/{t.task}"), READ, target="gone"),
    Row(
        "GET /pipelineConfigs/{id}/history of a deleted app",
        get(lambda w, t: f"/pipelineConfigs/{t.pipelines['deploy']}/history"),
        READ,
        target="gone",
        check=check_history,
    ),
    # writes: each cell on an application of its own
    *(
        Row(f"POST {label} {job}", post(path, body), WRITE, target="fresh", check=task_succeeds)
        for label, path in (("/tasks", to_tasks), ("/applications/{app}/tasks", to_application_tasks))
        for job, body in (
            ("createApplication", create_job),
            ("updateApplication", update_job),
            ("deleteApplication", delete_job),
        )
    ),
    Row(
        "POST /applications/{open}/tasks deleting the restricted app",
        post(lambda t: "/applications/open/tasks", delete_job),
        WRITE,
        target="fresh",
        check=task_succeeds,
    ),
    Row(
        "POST /tasks deleteApplication naming the app in upper case",
        post(to_tasks, lambda w, t: delete_job(w, Target(t.app.upper(), t.pipelines, t.task))),
        WRITE,
        target="fresh",
        check=task_succeeds,
    ),
    Row(
        "POST /tasks createApplication of a deleted app",
        post(to_tasks, create_job),
        WRITE,
        target="fresh-deleted",
        check=task_succeeds,
    ),
    Row(
        "POST /tasks createApplication of a new app",
        post(to_tasks, lambda w, t: create_application_task(w.unique("newcomer"))),
        EVERYONE,
        check=task_succeeds,
    ),
    Row("PUT /tasks/{id}/cancel", cancel, EXECUTE, target="fresh"),
    Row(
        "POST /pipelines",
        post(lambda t: "/pipelines", lambda w, t: exported_pipeline(t.app, "added")),
        WRITE,
        target="fresh",
    ),
    Row(
        "POST /pipelines into open with a restricted pipeline's id",
        post(
            lambda t: "/pipelines",
            lambda w, t: exported_pipeline(w.open.app, w.unique("hijack")) | {"id": t.pipelines["deploy"]},
        ),
        WRITE,
        target="fresh",
    ),
    Row(
        "POST /pipelines into open",
        post(lambda t: "/pipelines", lambda w, t: exported_pipeline(w.open.app, w.unique("added"))),
        EVERYONE,
    ),
    Row("DELETE /pipelines/{app}/{name}", delete_pipeline, WRITE, target="fresh"),
    # Clouddriver's operations: Gate checks EXECUTE, then Clouddriver the account and the cluster's application
    *(
        Row(
            f"POST /pipelines/vault/{pipeline_name} (Clouddriver)",
            post(trigger_path(pipeline_name), lambda w, t: {}),
            RUN,
            check=operation_judged(pipeline_name),
        )
        for pipeline_name in OPERATIONS
    ),
    Row(
        "POST /pipelines/move",
        post(lambda t: "/pipelines/move", lambda w, t: {"application": t.app, "from": "deploy", "to": "renamed"}),
        WRITE,
        target="fresh",
    ),
    Row(
        "POST /actions/pipelines/reorder",
        post(
            lambda t: "/actions/pipelines/reorder",
            lambda w, t: {"application": t.app, "idsToIndices": {t.pipelines["deploy"]: 1, t.pipelines["canary"]: 0}},
        ),
        WRITE,
        target="fresh",
    ),
    # Igor's masters: the lists show only what the caller may READ; every route naming a master needs READ on it
    Row("GET /v2/builds", get(lambda w, t: "/v2/builds"), EVERYONE, check=check_masters),
    Row("GET /v3/builds", get(lambda w, t: "/v3/builds"), EVERYONE, check=check_masters),
    *(
        Row(f"{name} (vault-ci)", build_route("vault-ci", path), READ, check=check_build_read)
        for name, path in BUILD_ROUTES.items()
    ),
    *(
        Row(f"{name} (open-ci)", build_route("open-ci", path), EVERYONE, check=check_build_read)
        for name, path in BUILD_ROUTES.items()
    ),
)


# --- the matrix ----------------------------------------------------------------------------


async def snapshot(world: World, target: Target) -> list[Any]:
    """What the admin sees of ``target``: whatever a refused call must leave as it was."""
    client, seen = world.client, []
    paths = [
        f"/applications/{target.app}",
        f"/applications/{target.app}/pipelineConfigs",
        f"/applications/{target.app}/tasks",
        *(f"/pipelineConfigs/{pipeline_id}/history" for pipeline_id in target.pipelines.values()),
        f"/tasks/{target.task}",
        f"/applications/{world.open.app}/pipelineConfigs",
    ]
    for path in paths:
        response = await client.get(path, headers=ADMIN)
        seen.append((path, response.status, await response.json() if response.status == 200 else None))
    return seen


async def target_of(world: World, row: Row) -> Target:
    match row.target:
        case "fresh" | "fresh-deleted":
            return await world.fresh(deleted=row.target == "fresh-deleted")
        case "gone":
            return world.gone
        case "open":
            return world.open
        case "vault":
            return world.vault


def assert_spinnaker_error(body: Any, status: int) -> None:
    assert isinstance(body, dict), body
    assert {"error", "message", "status", "timestamp"} <= body.keys(), body
    assert body["status"] == status and body["error"] == HTTPStatus(status).phrase, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["timestamp"], int) and body["timestamp"] > 0, body


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_matrix(world: World, row: Row, persona: str) -> None:
    target = await target_of(world, row)
    changes = row.target.startswith("fresh")
    before = await snapshot(world, target) if changes else None

    response = await row.call(world, target, headers_of(persona))
    text = await response.text()
    body = await response.json() if response.content_type == "application/json" else text

    assert response.status == row.expect[persona], text
    if persona not in MAY_READ:
        assert not [secret for secret in SECRETS if secret in text], f"leaked to {persona}: {text}"
    if response.status in (200, 202):
        await (row.check or no_check)(world, target, persona, body)
    else:
        assert_spinnaker_error(body, response.status)
        if changes:
            assert await snapshot(world, target) == before, "a refused call changed something"
