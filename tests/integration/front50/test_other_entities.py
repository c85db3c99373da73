"""Projects, strategies, notification preferences and service accounts: stored, read, replaced, deleted."""

from __future__ import annotations

from schemas.front50 import (
    ApplicationDeleted,
    CommandRejected,
    DeleteApplication,
    DeletePipelineStrategy,
    DeleteProject,
    DeleteServiceAccount,
    GetNotifications,
    GetProject,
    ListPipelineStrategies,
    ListProjects,
    ListServiceAccounts,
    NotificationsFound,
    NotificationsSaved,
    PipelineList,
    ProjectDeleted,
    ProjectFound,
    ProjectList,
    ProjectSaved,
    SaveApplication,
    SaveNotifications,
    SavePipelineStrategy,
    SaveProject,
    SaveServiceAccount,
    ServiceAccountDeleted,
    ServiceAccountList,
    ServiceAccountSaved,
    StrategyDeleted,
    StrategySaved,
)
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client, pipeline


async def test_projects(front50: Front50Client) -> None:
    config = {"applications": ["billing", "payments"], "clusters": [], "pipelineConfigs": []}
    saved = await front50.send(
        SaveProject(authority=ADMIN, project={"name": "Money", "email": "a@b.c", "config": config})
    )
    assert isinstance(saved, ProjectSaved)
    project_id = saved.project["id"]
    found = await front50.ask(GetProject(id_or_name="money"))
    assert isinstance(found, ProjectFound) and found.project == saved.project
    by_id = await front50.ask(GetProject(id_or_name=project_id))
    assert isinstance(by_id, ProjectFound) and by_id.project == saved.project

    duplicate = await front50.send(SaveProject(authority=ADMIN, project={"name": "MONEY"}))
    assert isinstance(duplicate, CommandRejected) and (duplicate.status, duplicate.field) == (400, "name")
    bad = await front50.send(SaveProject(authority=ADMIN, project={"name": "x", "config": {"applications": "billing"}}))
    assert isinstance(bad, CommandRejected) and bad.field == "config.applications"

    await front50.send(SaveApplication(authority=ADMIN, application={"name": "billing", "email": "a@b.c"}))
    assert isinstance(await front50.send(DeleteApplication(authority=ADMIN, name="billing")), ApplicationDeleted)
    after = await front50.ask(GetProject(id_or_name="money"))
    assert isinstance(after, ProjectFound) and after.project is not None
    assert after.project["config"]["applications"] == ["payments"], "a deleted application leaves its projects"

    deleted = await front50.send(DeleteProject(authority=ADMIN, id_or_name="Money"))
    assert deleted == ProjectDeleted(id=project_id, name="Money")
    listed = await front50.ask(ListProjects())
    assert isinstance(listed, ProjectList) and listed.projects == []


async def test_strategies(front50: Front50Client) -> None:
    saved = await front50.send(SavePipelineStrategy(authority=ADMIN, strategy=pipeline(name="red/black")))
    assert isinstance(saved, StrategySaved) and saved.created and saved.strategy["strategy"] is True
    listed = await front50.ask(ListPipelineStrategies(application="billing"))
    assert isinstance(listed, PipelineList) and [s["name"] for s in listed.pipelines] == ["red/black"]
    bad = await front50.send(SavePipelineStrategy(authority=ADMIN, strategy=pipeline(stages=[{"refId": "1"}])))
    assert isinstance(bad, CommandRejected) and bad.field == "stages[0].type"
    deleted = await front50.send(DeletePipelineStrategy(authority=ADMIN, application="billing", name="RED/BLACK"))
    assert isinstance(deleted, StrategyDeleted) and deleted.id == saved.strategy["id"]


async def test_notifications(front50: Front50Client) -> None:
    preferences = {"email": [{"address": "team@example.com", "when": ["pipeline.failed"]}], "slack": []}
    saved = await front50.send(SaveNotifications(authority=ADMIN, application="billing", notifications=preferences))
    assert isinstance(saved, NotificationsSaved)
    found = await front50.ask(GetNotifications(application="BILLING"))
    assert isinstance(found, NotificationsFound) and found.notifications is not None
    assert found.notifications["email"] == preferences["email"]
    bad = await front50.send(
        SaveNotifications(authority=ADMIN, application="billing", notifications={"email": "x@y.z"})
    )
    assert isinstance(bad, CommandRejected) and bad.field == "email"


async def test_service_accounts(front50: Front50Client) -> None:
    saved = await front50.send(
        SaveServiceAccount(authority=ADMIN, service_account={"name": "deployer@svc", "memberOf": ["ops"]})
    )
    assert isinstance(saved, ServiceAccountSaved) and saved.created
    replaced = await front50.send(
        SaveServiceAccount(authority=ADMIN, service_account={"name": "Deployer@svc", "memberOf": ["dev"]})
    )
    assert isinstance(replaced, ServiceAccountSaved) and not replaced.created
    listed = await front50.ask(ListServiceAccounts())
    assert isinstance(listed, ServiceAccountList)
    assert [(a["name"], a["memberOf"]) for a in listed.service_accounts] == [("Deployer@svc", ["dev"])]
    bad = await front50.send(SaveServiceAccount(authority=ADMIN, service_account={"name": "x", "memberOf": "ops"}))
    assert isinstance(bad, CommandRejected) and bad.field == "memberOf"
    deleted = await front50.send(DeleteServiceAccount(authority=ADMIN, name="deployer@svc"))
    assert deleted == ServiceAccountDeleted(name="Deployer@svc")
