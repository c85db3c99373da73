"""Authority travels with the work: which commands carry one, and how old messages are upcast."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.authority import Authority, Permission, can, upcast_user_to_authority
from schemas.base import Command
from schemas.catalog import registry
from schemas.front50 import SavePipeline
from schemas.orca_engine import RunExternalTask, StartExecution

FOR_NOBODY = {
    "orca.StartStage",
    "orca.RunTask",
    "orca.CompleteTask",
    "orca.CompleteStage",
    "orca.CompleteExecution",
    "orca.ContinueRollback",
    "orca.StartWaitingExecutions",
    "orca.CallWebhook",
    "echo.HandleWebhook",
    "echo.DeliverNotification",
    "dinghy.HandlePush",
}
"""Commands that act for nobody: Orca's internal chain, an unauthenticated webhook Echo (or Dinghy,
for a forge's push) judges itself by its signature, a notification to deliver. Every other command
names whom it acts for."""


def commands() -> list[type[Command]]:
    return [model for model in registry if issubclass(model, Command) and model.__module__.startswith("schemas.")]


@pytest.mark.parametrize("model", commands(), ids=lambda model: model.message_type)
def test_every_command_acting_for_somebody_requires_an_authority(model: type[Command]) -> None:
    field = model.model_fields.get("authority")
    if model.message_type in FOR_NOBODY:
        assert field is None
        return
    assert field is not None and field.is_required(), f"{model.message_type} must require an authority"
    assert field.annotation is Authority


def test_no_message_names_its_user_as_a_bare_string_any_more() -> None:
    ours = [model for model in registry if model.__module__.startswith("schemas.")]
    assert [model.message_type for model in ours if "user" in model.model_fields] == []


def test_a_command_without_an_authority_fails_validation_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="authority"):
        registry.load("orca.StartExecution", 2, {"execution_id": "e1", "pipeline": {}})


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        ({"user": "olivia"}, Authority(user="olivia")),
        ({"user": " olivia "}, Authority(user="olivia")),
        ({"user": "anonymous"}, Authority.nobody()),
        ({"user": ""}, Authority.nobody()),
        ({}, Authority.nobody()),
        ({"user": None}, Authority.nobody()),
    ],
)
def test_an_old_user_becomes_that_name_with_no_roles(old: dict[str, Any], expected: Authority) -> None:
    data = {"execution_id": "e1", "pipeline": {"application": "shop"}, **old}
    command = registry.load("orca.StartExecution", 1, data)
    assert isinstance(command, StartExecution)
    assert command.authority == expected
    assert command.authority.roles == () and not command.authority.admin


def test_an_upcast_user_never_holds_more_than_an_unrestricted_resource_grants() -> None:
    upcast = registry.load("front50.SavePipeline", 1, {"pipeline": {"application": "shop"}, "user": "ops"})
    assert isinstance(upcast, SavePipeline)
    restricted = {"READ": ["ops"], "WRITE": ["ops"]}
    assert not can(upcast.authority, restricted, Permission.WRITE)
    assert can(upcast.authority, {}, Permission.WRITE)


BORN_WITH_AUTHORITY = {
    "front50.SaveCanaryConfig",
    "front50.DeleteCanaryConfig",
    "front50.SavePipelineTemplate",
    "front50.DeletePipelineTemplate",
    "kayenta.RunCanary",
    "rosco.CreateBake",
    "rosco.CancelBake",
}
"""Commands added after authority travelled with the work: their version 1 already carries it."""


def test_every_upgraded_command_has_an_upcaster_from_version_one() -> None:
    for model in commands():
        if model.message_type in BORN_WITH_AUTHORITY:
            assert model.message_version == 1
            assert model.model_fields["authority"].is_required()
        elif "authority" in model.model_fields:
            assert model.message_version == 2
            registry.upcast(model.message_type, 1, {"user": "ops"})


def test_run_external_task_version_one_carried_nobody() -> None:
    data = {
        "execution_id": "e1",
        "stage_id": "s1",
        "task_id": "1",
        "attempt": 1,
        "application": "shop",
        "stage_type": "createServerGroup",
    }
    command = registry.load("orca.RunExternalTask", 1, data)
    assert isinstance(command, RunExternalTask)
    assert command.authority == Authority.nobody()


def test_the_upcaster_keeps_an_authority_already_given() -> None:
    given = Authority(user="ops", roles=("deployers",)).model_dump(mode="json")
    assert upcast_user_to_authority({"authority": given, "user": "x"}) == {"authority": given}


def test_unattended_holds_unrestricted_resources_only() -> None:
    unattended = Authority.unattended()
    assert can(unattended, {}, Permission.EXECUTE)
    assert not can(unattended, {"EXECUTE": ["ops"]}, Permission.EXECUTE)
    assert not can(Authority.nobody(), {}, Permission.READ)
