"""Clouddriver judges every operation itself: account x application x verb, commands put straight on the bus.

An attacker who can publish ``orca.RunExternalTask`` (or who owns one application) tries every
Clouddriver verb on their own application's resources in two accounts, and on another
application's. Each cell is refused by Clouddriver, TERMINAL with a reason naming the user and what
it lacks, unless the authority holds WRITE (READ to only look) on the account and, for anything
it changes, EXECUTE on the pipeline's application, to which everything it changes must belong (READ
on the applications it only looks at). Personas and
accounts are :mod:`tests.security.authority_world`'s; ``rival`` runs one server group in
``sandbox`` that no refused cell may touch. Reads of the cache follow the same rules, and a server
group's ``env`` is shown only to who may WRITE its account. Runs on MemoryBus and on RabbitMQ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from ulid import ULID

from bus import Envelope
from schemas.authority import Authority
from schemas.clouddriver_operations import TaskCompleted
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from tests.conftest import AMQP_URL
from tests.security.authority_world import EXAMPLES, RIVAL, SHOP, World, authority, headers, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

HELLO = ["{python}", str(EXAMPLES / "hello" / "app.py"), "--port", "{port}"]
PERSONAS = ("owner", "viewer", "deployer", "rival", "nobody")
ACCOUNT_WRITE = {"sandbox": {"owner", "deployer", "rival"}, "prod": {"deployer"}}
ACCOUNT_READ = {"sandbox": {"owner", "viewer", "deployer", "rival"}, "prod": {"deployer"}}
APP_EXECUTE = {"shop": {"owner", "deployer"}, "rival": {"rival"}}
APP_READ = {"shop": {"owner", "viewer", "deployer"}, "rival": {"rival"}}
LOOKING = ("findImageFromTags", "clusterSize")


def who(persona: str) -> Authority:
    return Authority.nobody() if persona == "nobody" else authority(persona)


def hello(application: str, account: str, stack: str, desired: int = 1) -> Json:
    return {
        "application": application,
        "stack": stack,
        "credentials": account,
        "cloudProvider": "local",
        "capacity": {"min": desired, "max": desired, "desired": desired},
        "command": HELLO,
        "env": {"HELLO_VERSION": f"{application}-{stack}", "SECRET_FLAG": "only-for-writers"},
        "stopTimeoutSeconds": 5,
        "waitForUpTimeoutSeconds": 30,
    }


def group(app: str, account: str, **extra: Any) -> Json:
    return {"serverGroupName": f"{app}-prod-v000", "credentials": account, "region": "local", **extra}


def cluster(app: str, account: str, **extra: Any) -> Json:
    return {"cluster": f"{app}-prod", "credentials": account, "regions": ["local"], **extra}


VERBS: dict[str, Callable[[str, str, World], Json]] = {
    "createServerGroup": lambda app, account, w: hello(app, account, "made"),
    "cloneServerGroup": lambda app, account, w: {"source": group(app, account), "credentials": account},
    "resizeServerGroup": lambda app, account, w: group(app, account, capacity={"min": 3, "max": 3, "desired": 3}),
    "enableServerGroup": lambda app, account, w: group(app, account),
    "disableServerGroup": lambda app, account, w: group(app, account),
    "destroyServerGroup": lambda app, account, w: group(app, account),
    "rollbackServerGroup": lambda app, account, w: {
        "credentials": account,
        "region": "local",
        "rollbackType": "EXPLICIT",
        "rollbackContext": {
            "rollbackServerGroupName": f"{app}-prod-v001",
            "restoreServerGroupName": f"{app}-prod-v000",
        },
    },
    "terminateInstances": lambda app, account, w: {
        "instanceIds": [RIVAL_INSTANCE[w.kind] if app == "rival" else f"{app}-prod-v000-abcdef"],
        "credentials": account,
        "region": "local",
    },
    "disableCluster": lambda app, account, w: cluster(app, account),
    "scaleDownCluster": lambda app, account, w: cluster(app, account, allowScaleDownActive=True),
    "shrinkCluster": lambda app, account, w: cluster(app, account, allowDeleteActive=True, shrinkToSize=0),
    "upsertLoadBalancer": lambda app, account, w: {"name": f"{app}-lb", "credentials": account},
    "deleteLoadBalancer": lambda app, account, w: {"loadBalancerName": f"{app}-lb", "credentials": account},
    "findImageFromTags": lambda app, account, w: {"packageName": "nothing", "credentials": account},
    "clusterSize": lambda app, account, w: {"preconditions": [cluster(app, account)]},
}
RIVAL_INSTANCE: dict[str, str] = {}
"""The id of the instance of rival's server group, per bus."""


def refused(persona: str, verb: str, app: str, account: str) -> bool:
    """The rules of the module docstring, as a table reads them."""
    if verb in LOOKING:
        looked_at = APP_READ[app] if verb == "clusterSize" else APP_READ["shop"]
        return persona not in ACCOUNT_READ[account] or persona not in APP_READ["shop"] or persona not in looked_at
    return app != "shop" or persona not in ACCOUNT_WRITE[account] or persona not in APP_EXECUTE["shop"]


CELLS = [
    (persona, verb, app, account)
    for verb in VERBS
    for app in ("shop", "rival")
    for account in ("sandbox", "prod")
    for persona in PERSONAS
    if not (verb == "terminateInstances" and app == "rival" and account == "prod")  # rival runs nothing there
    if not (verb == "findImageFromTags" and app == "rival")  # no application involved
]


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    work_dir: Path = tmp_path_factory.mktemp("who-may")
    vhost = f"who-may-{str(ULID()).lower()}"
    async with running_world(request.param, work_dir, amqp_url=AMQP_URL, vhost=vhost) as world:
        await world.create_application("shop", SHOP)
        await world.create_application("rival", RIVAL)
        made = await world.operate(
            authority("rival"), "createServerGroup", hello("rival", "sandbox", "prod"), application="rival"
        )
        assert made["status"] == "SUCCEEDED", made
        owned = await world.operate(authority("owner"), "createServerGroup", hello("shop", "sandbox", "web"))
        assert owned["status"] == "SUCCEEDED", owned
        deployed = await world.operate(authority("deployer"), "createServerGroup", hello("shop", "prod", "web"))
        assert deployed["status"] == "SUCCEEDED", deployed
        rival = await world.server_groups("rival")
        RIVAL_INSTANCE[world.kind] = rival[0]["instances"][0]["instanceId"]
        yield world


ON_RABBITMQ = ("createServerGroup", "destroyServerGroup", "disableCluster", "terminateInstances", "clusterSize")
"""The verbs whose cells also run on RabbitMQ (the bus carries the authority; Clouddriver's rules are one code path)."""


@pytest.mark.parametrize("world", ["memory"], indirect=True)
@pytest.mark.parametrize(("persona", "verb", "app", "account"), CELLS, ids=["-".join(cell) for cell in CELLS])
async def test_cell(world: World, persona: str, verb: str, app: str, account: str) -> None:
    await judged(world, persona, verb, app, account)


@pytest.mark.amqp
@pytest.mark.parametrize("world", ["amqp"], indirect=True)
@pytest.mark.parametrize(
    ("persona", "verb", "app", "account"),
    [cell for cell in CELLS if cell[1] in ON_RABBITMQ],
    ids=["-".join(cell) for cell in CELLS if cell[1] in ON_RABBITMQ],
)
async def test_cell_on_rabbitmq(world: World, persona: str, verb: str, app: str, account: str) -> None:
    await judged(world, persona, verb, app, account)


async def judged(world: World, persona: str, verb: str, app: str, account: str) -> None:
    """Run the cell's operation as ``persona`` and check Clouddriver's verdict against the table."""
    answer = await world.operate(who(persona), verb, VERBS[verb](app, account, world))
    error = answer.get("error") or ""
    if refused(persona, verb, app, account):
        assert answer["status"] == "TERMINAL" and error.startswith("access denied"), answer
        named = "an anonymous caller" if persona == "nobody" else f"user {persona!r}"
        assert named in error or "a pipeline of application 'shop'" in error, error
    else:
        assert not error.startswith("access denied"), answer


async def test_the_rival_server_group_was_never_touched(world: World) -> None:
    groups = await world.server_groups("rival")
    assert [(g["name"], g["capacity"], len(g["instances"]), g["isDisabled"]) for g in groups] == [
        ("rival-prod-v000", {"min": 1, "max": 1, "desired": 1}, 1, False)
    ]
    assert groups[0]["instances"][0]["instanceId"] == RIVAL_INSTANCE[world.kind]


async def test_an_admin_too_is_held_to_the_pipelines_application(world: World) -> None:
    answer = await world.operate(authority("admin"), "destroyServerGroup", group("rival", "sandbox"))
    assert answer["status"] == "TERMINAL"
    assert answer["error"] == (
        "access denied: a pipeline of application 'shop' may not change server group 'rival-prod-v000', "
        "which belongs to application 'rival'"
    )


async def test_a_pipeline_may_not_attach_its_server_group_to_another_applications_load_balancer(world: World) -> None:
    context = {**hello("shop", "sandbox", "hijack"), "loadBalancers": ["rival-lb"]}
    answer = await world.operate(authority("owner"), "createServerGroup", context)
    assert answer["status"] == "TERMINAL" and "load balancer 'rival-lb'" in answer["error"], answer


async def test_a_refusal_names_the_user_the_account_and_the_permission(world: World) -> None:
    answer = await world.operate(authority("owner"), "createServerGroup", hello("shop", "prod", "web"))
    assert answer["error"] == "access denied: user 'owner' lacks WRITE permission on account 'prod'"
    answer = await world.operate(authority("viewer"), "destroyServerGroup", group("shop", "sandbox"))
    assert answer["error"] == "access denied: user 'viewer' lacks EXECUTE permission on application 'shop'"
    answer = await world.operate(authority("viewer"), "clusterSize", {"preconditions": [cluster("rival", "sandbox")]})
    assert answer["error"] == "access denied: user 'viewer' lacks READ permission on application 'rival'"


async def test_a_task_naming_an_account_it_may_not_read_lists_only_readable_accounts(world: World) -> None:
    answer = await world.operate(authority("owner"), "destroyServerGroup", group("shop", "elsewhere"))
    assert answer["error"] == "account 'elsewhere' is not configured; known: ['sandbox']"  # prod is not for owner


async def test_an_old_task_naming_nobody_is_refused(world: World) -> None:
    data = {
        "execution_id": f"old-{ULID()}",
        "stage_id": "s1",
        "task_id": "1",
        "attempt": 1,
        "application": "shop",
        "stage_type": "destroyServerGroup",
        "context": group("shop", "sandbox"),
    }
    old = RunExternalTask.cloudevent_type().replace(".v2", ".v1")
    await world.bus.send_envelope(Envelope(id=str(ULID()), source="/old", type=old, data=data), to="clouddriver")
    answer = await world.event(TaskCompleted, lambda event: event["execution_id"] == data["execution_id"])
    assert answer["error"] == "access denied: an anonymous caller lacks EXECUTE permission on application 'shop'"


async def test_a_task_without_an_authority_is_dead_lettered(world: World) -> None:
    envelope = Envelope(
        id=str(ULID()),
        source="/attacker",
        type=RunExternalTask.cloudevent_type(),
        data={
            "execution_id": "forged",
            "stage_id": "s1",
            "task_id": "1",
            "attempt": 1,
            "application": "shop",
            "stage_type": "destroyServerGroup",
            "context": group("shop", "sandbox"),
        },
    )
    await world.bus.send_envelope(envelope, to="clouddriver")
    letters = await world.until(world.bus.dead_letters, lambda found: any(e.id == envelope.id for e in found))
    assert "authority" in next(letter for letter in letters if letter.id == envelope.id).reason


async def test_reads_show_only_accounts_and_applications_the_caller_may_read(world: World) -> None:
    def seen(groups: list[Json]) -> list[tuple[str, str, bool]]:
        return sorted((g["account"], g["name"], "env" in g["launchConfig"]) for g in groups)

    owner = seen(await world.server_groups("shop", authority("owner")))
    assert ("sandbox", "shop-web-v000", True) in owner and all(account == "sandbox" for account, _, _ in owner)
    viewer = seen(await world.server_groups("shop", authority("viewer")))
    assert ("sandbox", "shop-web-v000", False) in viewer, "the env is for those who may WRITE the account"
    assert all(not env for _, _, env in viewer)
    assert ("prod", "shop-web-v000", True) in seen(await world.server_groups("shop", authority("deployer")))
    assert await world.server_groups("shop", authority("rival")) == []
    assert await world.server_groups("shop", Authority.nobody()) == []


async def test_the_gateway_shows_the_env_only_to_who_may_write_the_account(world: World) -> None:
    response = await world.client.get("/applications/shop/serverGroups", headers=headers("viewer"))
    assert response.status == 200
    text = await response.text()
    assert "shop-web-v000" in text and "only-for-writers" not in text
    response = await world.client.get("/applications/shop/serverGroups", headers=headers("owner"))
    assert "only-for-writers" in await response.text()
