"""Gate's infrastructure reads: server groups, clusters, load balancers, instances and images.

Every answer comes from Clouddriver's cache (:mod:`schemas.clouddriver_cache`), never from a
cloud. As Gate does with Fiat: an application the caller may not READ is a 403 (an application
Front50 does not know, such as one deployed without being created, is open), and resources of
accounts the caller may not READ are left out of every list; a named account the caller may not
READ is a 403. Each query carries the caller's authority, and Clouddriver applies the same rules
itself (and shows a server group's ``env`` only to who may WRITE its account). Shapes are
Clouddriver's: ``/applications/{app}/clusters`` is ``{account: [cluster names]}``, the rest are
lists of (or one) Clouddriver JSON objects. Clouddriver hides secrets in each resource when it
caches it, so these answers are relayed as they come (:func:`gateway.gate_api.relayed_json`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, RootModel, ValidationError

from gateway.access import find_application, require_on, visible
from gateway.api_model import ApiModel
from gateway.auth.middleware import authority_of
from gateway.auth.model import Permission
from gateway.command_results import ask
from gateway.errors import RequestInvalid
from gateway.gate_api import (
    SpinnakerJson,
    error_responses,
    gate_json,
    gate_route,
    not_found,
    relayed_bytes,
    relayed_json,
)
from gateway.route_context import RouteContext
from gateway.routing import Response, Route, read_query
from schemas.clouddriver import AccountList, ListAccounts
from schemas.clouddriver_cache import (
    MAX_CLUSTERS,
    MAX_IDS,
    NAME_LIMIT,
    CachedResources,
    ClusterName,
    ClusterNames,
    FindImages,
    FindServerGroups,
    GetConsoleOutput,
    GetInstance,
    ListClusters,
    ListLoadBalancers,
    ListServerGroups,
    ServerGroupId,
)
from schemas.json_types import Json

TAG = "infrastructure"
MAX_APPLICATIONS = 50
"""Applications one ``/serverGroups?applications=`` read may name."""


class ServerGroup(SpinnakerJson):
    """Clouddriver's server group JSON; every provider field is kept."""

    name: str
    account: str | None = None
    region: str | None = None
    cluster: str | None = None


class ServerGroups(RootModel[list[ServerGroup]]):
    """Server groups in accounts the caller may READ."""


class LoadBalancers(RootModel[list[SpinnakerJson]]):
    """Load balancers in accounts the caller may READ, each with its server groups."""


class Clusters(RootModel[dict[str, list[str]]]):
    """Cluster names by account."""


class ClusterSummary(SpinnakerJson):
    """One cluster of an account: its name, moniker, and its server groups' and load balancers' names."""

    name: str
    account: str
    server_groups: list[str]
    load_balancers: list[str]


class ClusterSummaries(RootModel[list[ClusterSummary]]):
    """An application's clusters in one account."""


class Images(RootModel[list[SpinnakerJson]]):
    """Images, newest first."""


class ServerGroupsQuery(ApiModel):
    """Gate's filters for an application's server groups."""

    expand: bool = Field(False, description="whole server groups; summaries when false")
    cloud_provider: str | None = Field(None, max_length=NAME_LIMIT, description="only this provider's (any case)")
    clusters: str | None = Field(
        None,
        max_length=MAX_CLUSTERS * 2 * (NAME_LIMIT + 1),
        description="comma-separated account:cluster pairs; only those clusters (none when empty)",
    )


class ServerGroupsByQuery(ApiModel):
    """Gate's ``/serverGroups`` parameters: ``applications`` or ``ids``, each comma-separated or repeated."""

    applications: list[str] = Field(default_factory=list, max_length=MAX_APPLICATIONS, description="application names")
    ids: list[str] = Field(default_factory=list, max_length=MAX_IDS, description="account:region:name of each one")
    cloud_provider: str | None = Field(None, max_length=NAME_LIMIT, description="only this provider's (any case)")


class TargetQuery(ApiModel):
    """Gate's options for a target server group."""

    only_enabled: bool = Field(False, description="only server groups that are not disabled")
    validate_oldest: bool = Field(True, description="'oldest' needs at least two server groups")


class ImagesQuery(ApiModel):
    """Gate's ``/images/find`` parameters; ``tag:NAME=VALUE`` parameters filter by tag."""

    provider: str | None = Field(None, description="cloud provider; any when left out")
    q: str | None = Field(None, description="part of the image name; '*' matches anything")
    region: str | None = None
    account: str | None = None
    count: int | None = Field(None, ge=1)


_ACCOUNTS = web.RequestKey("clouddriver_accounts", list[Json])
"""Clouddriver's accounts, asked once per request (a named read checks one, then lists the readable)."""


async def _accounts(request: web.Request) -> list[Json]:
    if _ACCOUNTS not in request:
        request[_ACCOUNTS] = (await ask(request, ListAccounts(), AccountList)).accounts
    return request[_ACCOUNTS]


async def _readable_accounts(request: web.Request) -> set[str]:
    return {account["name"] for account in visible(request, await _accounts(request))}


async def _check_application(request: web.Request, name: str) -> None:
    application = await find_application(request, name)
    if application is not None:
        require_on(request, application, Permission.READ, kind="application", name=name)


async def _check_account(request: web.Request, name: str) -> None:
    accounts = {account["name"]: account for account in await _accounts(request)}
    require_on(request, accounts.get(name), Permission.READ, kind="account", name=name)


def _clusters(value: str | None) -> tuple[ClusterName, ...] | None:
    """Gate's ``clusters`` parameter (``prod:shop-web,test:shop-web``) as pairs; 400 for a part of another shape."""
    if value is None:
        return None
    pairs: list[ClusterName] = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        account, _, cluster = part.partition(":")
        if not account or not cluster or len(account) > NAME_LIMIT or len(cluster) > NAME_LIMIT:
            raise RequestInvalid(
                f"clusters: {part[:80]!r} is not account:cluster (each at most {NAME_LIMIT} characters)",
                field="clusters",
            )
        pairs.append(ClusterName(account=account, cluster=cluster))
    if len(pairs) > MAX_CLUSTERS:
        raise RequestInvalid(f"clusters: at most {MAX_CLUSTERS} clusters at once", field="clusters")
    return tuple(pairs)


def _listing(request: web.Request, readable: set[str], **filters: Any) -> ListServerGroups:
    """The query for the path's application's server groups in ``readable`` accounts, as the caller."""
    return ListServerGroups(
        application=request.match_info["application"],
        authority=authority_of(request),
        accounts=tuple(sorted(readable)),
        **filters,
    )


async def _server_groups(request: web.Request, **filters: Any) -> list[Json]:
    await _check_application(request, request.match_info["application"])
    readable = await _readable_accounts(request)
    return (await ask(request, _listing(request, readable, **filters), CachedResources)).resources


async def _relayed_server_groups(request: web.Request, **filters: Any) -> web.Response:
    """The server groups Clouddriver lists, relayed as it wrote them: the gateway's account check
    travels in the query (``accounts``), so it need not read the answer."""
    await _check_application(request, request.match_info["application"])
    readable = await _readable_accounts(request)
    raw = await RouteContext.of(request).ask_raw(_listing(request, readable, **filters), CachedResources)
    return relayed_bytes(raw.field("resources"))


@gate_route
async def list_server_groups(request: web.Request) -> web.Response:
    """Every server group of the application in accounts the caller may READ: summaries unless
    ``expand=true``, narrowed to a provider's or to named ``account:cluster`` pairs."""
    params = read_query(request, ServerGroupsQuery)
    return await _relayed_server_groups(
        request, expand=params.expand, cloud_provider=params.cloud_provider, clusters=_clusters(params.clusters)
    )


def _listed(values: list[str], limit: int, field: str) -> list[str]:
    """A Spring-style list parameter (repeated, comma-separated or both): at most ``limit`` items, each
    at most :data:`NAME_LIMIT` * 3 characters."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if len(items) > limit or any(len(item) > 3 * NAME_LIMIT for item in items):
        raise RequestInvalid(f"{field}: at most {limit}, each at most {3 * NAME_LIMIT} characters", field=field)
    return list(dict.fromkeys(items))


def _joined_lists(lists: list[bytes]) -> bytes:
    """JSON arrays joined into one, each as its bytes."""
    inner = [body.strip()[1:-1].strip() for body in lists]
    return b"[" + b",".join(part for part in inner if part) + b"]"


@gate_route
async def server_groups_by(request: web.Request) -> web.Response:
    """Server group summaries of several applications (those the caller may READ) or by
    ``account:region:name`` ids (those in accounts and applications it may READ)."""
    params = read_query(request, ServerGroupsByQuery)
    applications = _listed(params.applications, MAX_APPLICATIONS, "applications")
    ids = _listed(params.ids, MAX_IDS, "ids")
    if bool(applications) == bool(ids):
        raise RequestInvalid("Provide either 'applications' or 'ids' parameter, but not both", field="applications")
    readable = tuple(sorted(await _readable_accounts(request)))
    route = RouteContext.of(request)
    if ids:
        invalid = [id_ for id_ in ids if len(id_.split(":")) != 3 or not all(id_.split(":"))]
        if invalid:
            shown = ", ".join(invalid)[:300]
            raise RequestInvalid(
                f"Expected ids in the format <account>:<region>:<name> but got invalid ids: {shown}", field="ids"
            )
        try:
            wanted = tuple(ServerGroupId(account=a, region=r, name=n) for a, r, n in (id_.split(":") for id_ in ids))
        except ValidationError as error:
            raise RequestInvalid.from_validation(error, what="ids", root="ids") from None
        found = FindServerGroups(
            ids=wanted, cloud_provider=params.cloud_provider, accounts=readable, authority=route.authority
        )
        return relayed_bytes((await route.ask_raw(found, CachedResources)).field("resources"))
    lists: list[bytes] = []
    for name in applications:
        application = await find_application(request, name)
        if application is not None and not visible(request, [application]):
            continue  # as Clouddriver's filter: an application the caller may not READ is left out
        query = ListServerGroups(
            application=name,
            expand=False,
            cloud_provider=params.cloud_provider,
            accounts=readable,
            authority=route.authority,
        )
        lists.append((await route.ask_raw(query, CachedResources)).field("resources"))
    return relayed_bytes(_joined_lists(lists))


@gate_route
async def list_clusters(request: web.Request) -> web.Response:
    """The application's cluster names by account, relayed as Clouddriver wrote them."""
    await _check_application(request, request.match_info["application"])
    readable = await _readable_accounts(request)
    query = ListClusters(
        application=request.match_info["application"], accounts=tuple(sorted(readable)), authority=authority_of(request)
    )
    raw = await RouteContext.of(request).ask_raw(query, ClusterNames)
    return relayed_bytes(raw.field("clusters"))


@gate_route
async def account_clusters(request: web.Request) -> web.Response:
    """The application's clusters in one account, each as Clouddriver's summary (its server groups'
    and load balancers' names); 404 when it has none there."""
    application, account = request.match_info["application"], request.match_info["account"]
    await _check_account(request, account)
    clusters: dict[str, Json] = {}
    for group in await _server_groups(request, account=account, expand=False):
        name = str(group.get("cluster") or "")
        found = clusters.setdefault(
            name,
            {
                "name": name,
                "account": account,
                "moniker": {"app": application, "cluster": name},
                "loadBalancers": [],
                "serverGroups": [],
            },
        )
        found["serverGroups"].append(group["name"])
        found["loadBalancers"].extend(b for b in group.get("loadBalancers") or () if b not in found["loadBalancers"])
    if not clusters:
        raise not_found(f"No clusters found (application: {application}, account: {account})")
    return relayed_json([clusters[name] for name in sorted(clusters)])


@gate_route
async def get_cluster(request: web.Request) -> web.Response:
    """One cluster: its server groups (whole) and the load balancers they sit behind; ``{}`` when the
    cache holds none, as Gate answers."""
    application, account, name = (request.match_info[key] for key in ("application", "account", "cluster"))
    await _check_account(request, account)
    groups = await _server_groups(request, account=account, cluster=name)
    if not groups:
        return relayed_json({})
    behind = {(group.get("region"), balancer) for group in groups for balancer in group.get("loadBalancers") or ()}
    query = ListLoadBalancers(application=application, authority=authority_of(request))
    balancers = (await ask(request, query, CachedResources)).resources
    return relayed_json(
        {
            "name": name,
            "accountName": account,
            "type": groups[0].get("cloudProvider"),
            "application": application,
            "moniker": {"app": application, "cluster": name},
            "serverGroups": groups,
            "loadBalancers": [
                balancer
                for balancer in balancers
                if balancer.get("account") == account and (balancer.get("region"), balancer.get("name")) in behind
            ],
        }
    )


def _age(group: Json) -> tuple[int, int]:
    """Creation time, then the moniker's sequence: Kubernetes stamps whole seconds, so two versions
    deployed within one second are told apart by their ``-vNNN``."""
    moniker = group.get("moniker")
    sequence = moniker.get("sequence") if isinstance(moniker, dict) else None
    return int(group.get("createdTime") or 0), sequence if isinstance(sequence, int) else -1


def _target(groups: list[Json], target: str, *, scope: str, validate_oldest: bool) -> Json | None:
    """The server group ``target`` (current, previous, oldest, largest, fail) names among ``groups``;
    ``None`` when there is none. ``fail`` wants exactly one; ``oldest`` at least two when validating."""
    newest_first = sorted(groups, key=_age, reverse=True)
    match target:
        case "current":
            return newest_first[0] if newest_first else None
        case "previous":
            return newest_first[1] if len(newest_first) > 1 else None
        case "oldest":
            if not newest_first or (validate_oldest and len(newest_first) == 1):
                return None
            return newest_first[-1]
        case "largest":
            biggest = sorted(newest_first, key=lambda group: len(group.get("instances") or ()), reverse=True)
            return biggest[0] if biggest else None  # sorted() keeps the newest first among equals
        case "fail":
            if len(newest_first) > 1:
                names = ", ".join(str(group.get("name")) for group in newest_first)
                raise not_found(f"More than one target found (scope: {scope}, serverGroups: {names})")
            return newest_first[0] if newest_first else None
    raise not_found(f"Target not found (target: {target})")


@gate_route
async def target_server_group(request: web.Request) -> web.Response:
    """The server group of a cluster a target names (``current``, ``previous``, ``oldest``, ``largest``,
    ``fail``) in one region or zone (``scope``), as Orca resolves a stage's target."""
    account, cluster, provider, scope, target = (
        request.match_info[key] for key in ("account", "cluster", "cloudProvider", "scope", "target")
    )
    params = read_query(request, TargetQuery)
    await _check_account(request, account)
    groups = [
        group
        for group in await _server_groups(request, account=account, cluster=cluster, cloud_provider=provider)
        if (group.get("region") == scope or scope in (group.get("zones") or ()))
        and (not params.only_enabled or not group.get("isDisabled"))
        and group.get("createdTime") is not None
    ]
    found = _target(groups, target.lower(), scope=scope, validate_oldest=params.validate_oldest)
    if found is None:
        raise not_found(
            f"No server groups found (account: {account}, location: {scope}, cluster: {cluster}, type: {provider})"
        )
    return relayed_json(found)


@gate_route
async def cluster_server_groups(request: web.Request) -> web.Response:
    """The server groups of one cluster in one account (all regions)."""
    account = request.match_info["account"]
    await _check_account(request, account)
    return await _relayed_server_groups(request, account=account, cluster=request.match_info["cluster"])


@gate_route
async def cluster_server_groups_named(request: web.Request) -> web.Response:
    """The server groups called ``serverGroupName`` in one cluster (one per region)."""
    account = request.match_info["account"]
    await _check_account(request, account)
    return await _relayed_server_groups(
        request, account=account, cluster=request.match_info["cluster"], name=request.match_info["serverGroupName"]
    )


@gate_route
async def get_server_group(request: web.Request) -> web.Response:
    """One server group; 404 when the cache holds none by that name."""
    account, region, name = (request.match_info[key] for key in ("account", "region", "serverGroupName"))
    await _check_account(request, account)
    groups = await _server_groups(request, account=account, region=region, name=name)
    if not groups:
        raise not_found(f"Server group not found (account: {account}, region: {region}, name: {name})")
    return relayed_json(groups[0])


@gate_route
async def list_load_balancers(request: web.Request) -> web.Response:
    """The application's load balancers in accounts the caller may READ."""
    application = request.match_info["application"]
    await _check_application(request, application)
    readable = tuple(sorted(await _readable_accounts(request)))
    query = ListLoadBalancers(application=application, accounts=readable, authority=authority_of(request))
    return relayed_bytes((await RouteContext.of(request).ask_raw(query, CachedResources)).field("resources"))


@gate_route
async def get_instance(request: web.Request) -> web.Response:
    """One instance with its server group; 404 when the cache holds none by that id."""
    account, region, instance_id = (request.match_info[key] for key in ("account", "region", "instanceId"))
    await _check_account(request, account)
    query = GetInstance(account=account, region=region, instance_id=instance_id, authority=authority_of(request))
    found = (await ask(request, query, CachedResources)).resources
    if not found:
        raise not_found(f"Instance not found (account: {account}, region: {region}, id: {instance_id})")
    return gate_json(found[0])


@gate_route
async def get_console_output(request: web.Request) -> web.Response:
    """What an instance printed: a Kubernetes pod's containers' logs (``{"output": [{name, output}]}``)."""
    account, region, instance_id = (request.match_info[key] for key in ("account", "region", "instanceId"))
    await _check_account(request, account)
    query = GetConsoleOutput(account=account, region=region, instance_id=instance_id, authority=authority_of(request))
    found = (await ask(request, query, CachedResources)).resources
    if not found:
        raise not_found(f"No console output (account: {account}, region: {region}, id: {instance_id})")
    return gate_json({"output": found})


@gate_route
async def find_images(request: web.Request) -> web.Response:
    """Images by name fragment and tags, in accounts the caller may READ."""
    params = read_query(request, ImagesQuery)
    tags = {key.removeprefix("tag:"): value for key, value in request.query.items() if key.startswith("tag:")}
    query = FindImages(
        provider=params.provider,
        q=params.q,
        region=params.region,
        account=params.account,
        tags=tags,
        count=params.count,
        accounts=tuple(sorted(await _readable_accounts(request))),
        authority=authority_of(request),
    )
    return relayed_bytes((await RouteContext.of(request).ask_raw(query, CachedResources)).field("resources"))


_ERRORS = error_responses(400, 403, 404, 504)

ROUTES = (
    Route(
        "GET",
        "/applications/{application}/serverGroups",
        list_server_groups,
        summary="Retrieve a list of an application's server groups",
        tag=TAG,
        query=ServerGroupsQuery,
        responses={200: Response("Server groups", ServerGroups), **error_responses(400, 403, 504)},
    ),
    Route(
        "GET",
        "/serverGroups",
        server_groups_by,
        summary="Retrieve server groups of a list of applications, or by 'account:region:name'",
        tag=TAG,
        query=ServerGroupsByQuery,
        responses={200: Response("Server group summaries", ServerGroups), **error_responses(400, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/clusters",
        list_clusters,
        summary="Retrieve an application's cluster names by account",
        tag=TAG,
        responses={200: Response("Cluster names by account", Clusters), **error_responses(403, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/clusters/{account}",
        account_clusters,
        summary="Retrieve a list of clusters for an account",
        tag=TAG,
        responses={200: Response("Cluster summaries", ClusterSummaries), **error_responses(403, 404, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/clusters/{account}/{cluster}",
        get_cluster,
        summary="Retrieve a cluster's details",
        tag=TAG,
        responses={200: Response("The cluster ({} when there is none)", SpinnakerJson), **error_responses(403, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/clusters/{account}/{cluster}/serverGroups",
        cluster_server_groups,
        summary="Retrieve the server groups of a cluster",
        tag=TAG,
        responses={200: Response("Server groups", ServerGroups), **error_responses(403, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/clusters/{account}/{cluster}/serverGroups/{serverGroupName}",
        cluster_server_groups_named,
        summary="Retrieve a cluster's server groups of one name (one per region)",
        tag=TAG,
        responses={200: Response("Server groups", ServerGroups), **error_responses(403, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/clusters/{account}/{cluster}/{cloudProvider}/{scope}/serverGroups/target/{target}",
        target_server_group,
        summary="Retrieve the server group a target (current, previous, oldest, largest, fail) names in a cluster",
        tag=TAG,
        query=TargetQuery,
        responses={200: Response("The server group", ServerGroup), **_ERRORS},
    ),
    Route(
        "GET",
        "/applications/{application}/serverGroups/{account}/{region}/{serverGroupName}",
        get_server_group,
        summary="Retrieve a server group's details",
        tag=TAG,
        responses={200: Response("The server group", ServerGroup), **_ERRORS},
    ),
    Route(
        "GET",
        "/applications/{application}/loadBalancers",
        list_load_balancers,
        summary="Retrieve a list of an application's load balancers",
        tag=TAG,
        responses={200: Response("Load balancers", LoadBalancers), **error_responses(403, 504)},
    ),
    Route(
        "GET",
        "/instances/{account}/{region}/{instanceId}",
        get_instance,
        summary="Retrieve an instance's details",
        tag=TAG,
        responses={200: Response("The instance", SpinnakerJson), **_ERRORS},
    ),
    Route(
        "GET",
        "/instances/{account}/{region}/{instanceId}/console",
        get_console_output,
        summary="Retrieve an instance's console output (a Kubernetes pod's container logs)",
        tag=TAG,
        responses={200: Response("Each container's output", SpinnakerJson), **_ERRORS},
    ),
    Route(
        "GET",
        "/images/find",
        find_images,
        summary="Retrieve a list of images, filtered by cloud provider, region, account and name",
        tag=TAG,
        query=ImagesQuery,
        responses={200: Response("Images", Images), **error_responses(400, 504)},
    ),
)
