"""The aws provider's pure parts: account settings, user data, tags, rotation shares, health."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from schemas.clouddriver import AccountConfig
from workers.clouddriver.aws import launch_templates, rotation, tags
from workers.clouddriver.aws.describe import _worst
from workers.clouddriver.provider import OperationFailed


def test_aws_settings_are_an_aws_table_whose_secrets_stay_out_of_details() -> None:
    config = AccountConfig.model_validate(
        {
            "name": "prod",
            "cloudProvider": "aws",
            "aws": {"endpointUrl": "http://127.0.0.1:5000", "accessKeyId": "AKIA1", "secretAccessKey": "shh"},
        }
    )
    assert config.aws is not None and config.aws.endpoint_url == "http://127.0.0.1:5000"
    assert config.aws.secret_access_key is not None and config.aws.secret_access_key.get_secret_value() == "shh"
    assert "shh" not in repr(config) and "aws" not in config.details()


def test_aws_settings_refuse_unknown_keys_and_other_providers() -> None:
    with pytest.raises(ValidationError, match="secretKey"):
        AccountConfig.model_validate({"name": "p", "cloudProvider": "aws", "aws": {"secretKey": "x"}})
    with pytest.raises(ValidationError, match="need cloudProvider 'aws'"):
        AccountConfig.model_validate({"name": "p", "cloudProvider": "local", "aws": {}})


def test_user_data_is_encoded_once() -> None:
    assert launch_templates.user_data({"userData": "echo hi"}) == base64.b64encode(b"echo hi").decode()
    assert launch_templates.user_data({"base64UserData": "ZWNobw=="}) == "ZWNobw=="
    assert launch_templates.user_data({}) is None
    with pytest.raises(OperationFailed, match="base64UserData"):
        launch_templates.user_data({"base64UserData": "not base64!"})


def test_spinnaker_tags_follow_the_frigga_name() -> None:
    assert tags.server_group_tags("hello-prod-web-v003", {"team": "a"}) == {
        "team": "a",
        "spinnaker:application": "hello",
        "spinnaker:stack": "prod",
        "spinnaker:details": "web",
    }
    assert tags.server_group_tags("hello--canary-v001") == {
        "spinnaker:application": "hello",
        "spinnaker:details": "canary",
    }
    assert tags.resource_tags("hello-prod-v001") == {
        "spinnaker:application": "hello",
        "spinnaker:cluster": "hello-prod",
    }


def test_a_share_rounds_up_and_disabled_reads_add_to_load_balancer() -> None:
    assert rotation.share(["a", "b", "c"], 50) == ["a", "b"]
    assert rotation.share(["a", "b", "c"], 0) == []
    assert rotation.is_disabled({"SuspendedProcesses": [{"ProcessName": "AddToLoadBalancer"}]})  # type: ignore[typeddict-item]
    assert not rotation.is_disabled({"SuspendedProcesses": [{"ProcessName": "Launch"}]})  # type: ignore[typeddict-item]


def test_the_worst_health_wins() -> None:
    assert _worst(["Up", "Draining", "Starting"]) == "Draining"
    assert _worst(["Up", "Up"]) == "Up"
    assert _worst([]) == "Unknown"
