"""The type catalogues Front50 checks saves against equal what Orca and Echo actually register."""

from __future__ import annotations

from typing import get_args

from schemas.echo import TriggerType
from schemas.echo_notifications import ChannelType
from schemas.stage_types import NOTIFICATION_TYPES, STAGE_TYPES, TRIGGER_TYPES, unknown_type_message
from workers.echo.notifications.channels import CHANNEL_TYPES
from workers.orca.engine import EngineOptions
from workers.orca.engine.expression_language import SpelExpressions
from workers.orca.engine.stages import StageTypes
from workers.orca.engine.triggers import PIPELINE_TRIGGER_TYPE


def test_stage_types_are_the_ones_orca_registers() -> None:
    options = EngineOptions()
    registered = StageTypes.standard(
        SpelExpressions(), options.external_stage_types, options.external_heartbeat_timeouts, options.extra_stage_types
    )
    assert registered.names() == STAGE_TYPES


def test_trigger_types_are_the_ones_echo_and_orca_fire() -> None:
    assert frozenset({*get_args(TriggerType), PIPELINE_TRIGGER_TYPE}) == TRIGGER_TYPES


def test_notification_types_are_echos_channels() -> None:
    assert frozenset(get_args(ChannelType)) == NOTIFICATION_TYPES == CHANNEL_TYPES


def test_message_offers_the_closest_names_or_all() -> None:
    assert unknown_type_message("stage", "manualJudgement", STAGE_TYPES).endswith("closest: manualJudgment")
    assert unknown_type_message("trigger", "zzz", TRIGGER_TYPES) == (
        "unknown trigger type 'zzz'; known: cloudevent, cron, docker, git, jenkins, pipeline, webhook"
    )
