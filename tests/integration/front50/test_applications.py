"""Applications: upsert with Front50's merge, case-insensitive names, history, and cascading delete."""

from __future__ import annotations

from schemas.front50 import (
    ApplicationDeleted,
    ApplicationFound,
    ApplicationList,
    ApplicationSaved,
    CommandRejected,
    DeleteApplication,
    GetApplication,
    GetApplicationHistory,
    GetNotifications,
    GetPipelineConfig,
    History,
    ListApplications,
    ListPipelineConfigs,
    NotificationsFound,
    PipelineFound,
    PipelineList,
    SaveApplication,
    SaveNotifications,
    SavePipeline,
)
from tests.authorities import ADMIN, admin
from tests.integration.front50.conftest import Front50Client, pipeline


async def test_create_update_and_find_case_insensitively(front50: Front50Client) -> None:
    created = await front50.send(
        SaveApplication(
            application={
                "name": "Billing",
                "email": "team@example.com",
                "description": "bills",
                "cloudProviders": ["aws", "kubernetes"],
                "permissions": {"READ": ["dev"], "WRITE": ["ops"]},
            },
            authority=admin("alice"),
        )
    )
    assert isinstance(created, ApplicationSaved) and created.created
    stored = created.application
    assert stored["name"] == "BILLING"
    assert stored["cloudProviders"] == "aws,kubernetes"
    assert stored["createTs"] == stored["updateTs"] and stored["updateTs"].isdigit()
    assert stored["lastModifiedBy"] == "alice"

    updated = await front50.send(
        SaveApplication(authority=ADMIN, application={"name": "billing", "description": "invoices"})
    )
    assert isinstance(updated, ApplicationSaved) and not updated.created
    assert updated.application["email"] == "team@example.com", "a save merges over what is stored"
    assert updated.application["description"] == "invoices"
    assert updated.application["createTs"] == stored["createTs"]
    assert int(updated.application["updateTs"]) > int(stored["updateTs"])

    for asked in ("billing", "BILLING", "BiLLing"):
        found = await front50.ask(GetApplication(name=asked))
        assert isinstance(found, ApplicationFound) and found.application == updated.application
    listed = await front50.ask(ListApplications())
    assert isinstance(listed, ApplicationList) and [a["name"] for a in listed.applications] == ["BILLING"]

    history = await front50.ask(GetApplicationHistory(name="billing"))
    assert isinstance(history, History)
    assert [v["description"] for v in history.versions] == ["invoices", "bills"]


async def test_invalid_application_is_rejected_naming_the_field(front50: Front50Client) -> None:
    no_email = await front50.send(SaveApplication(authority=ADMIN, application={"name": "billing"}, task_id="t-1"))
    assert isinstance(no_email, CommandRejected)
    assert (no_email.status, no_email.field, no_email.task_id) == (400, "email", "t-1")

    bad_name = await front50.send(SaveApplication(authority=ADMIN, application={"name": "bill ing", "email": "a@b.c"}))
    assert isinstance(bad_name, CommandRejected) and bad_name.field == "name"

    bad_permissions = await front50.send(
        SaveApplication(
            authority=ADMIN, application={"name": "billing", "email": "a@b.c", "permissions": {"READ": "dev"}}
        )
    )
    assert isinstance(bad_permissions, CommandRejected) and bad_permissions.field == "permissions.READ"

    found = await front50.ask(GetApplication(name="billing"))
    assert isinstance(found, ApplicationFound) and found.application is None


async def test_delete_cascades_to_pipelines_and_notifications(front50: Front50Client) -> None:
    await front50.send(SaveApplication(authority=ADMIN, application={"name": "billing", "email": "a@b.c"}))
    await front50.send(SaveApplication(authority=ADMIN, application={"name": "payments", "email": "a@b.c"}))
    await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline("billing", "deploy")))
    await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline("billing", "rollback")))
    kept = await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline("payments", "deploy")))
    await front50.send(
        SaveNotifications(authority=ADMIN, application="billing", notifications={"email": [{"address": "a@b.c"}]})
    )

    deleted = await front50.send(DeleteApplication(authority=ADMIN, name="Billing"))
    assert deleted == ApplicationDeleted(name="BILLING")

    found = await front50.ask(GetApplication(name="billing"))
    assert isinstance(found, ApplicationFound) and found.application is None
    gone = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(gone, PipelineList) and gone.pipelines == []
    notifications = await front50.ask(GetNotifications(application="billing"))
    assert isinstance(notifications, NotificationsFound) and notifications.notifications is None
    other = await front50.ask(GetPipelineConfig(application="payments", name="deploy"))
    assert isinstance(other, PipelineFound) and other.pipeline is not None
    assert other.pipeline["id"] == kept.pipeline["id"]  # type: ignore[attr-defined]

    again = await front50.send(DeleteApplication(authority=ADMIN, name="billing"))
    assert isinstance(again, CommandRejected) and (again.status, again.field) == (404, "name")
