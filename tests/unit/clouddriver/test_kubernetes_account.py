"""A ``kubernetes`` account from the settings: Spinnaker's keys, its scopes, and what clients never see."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.clouddriver import AccountConfig
from schemas.kubernetes_account import KubernetesAccountSettings
from workers.clouddriver.accounts import AccountCatalogue


def account(**kubernetes: object) -> AccountConfig:
    return AccountConfig.model_validate(
        {
            "name": "k8s-prod",
            "cloudProvider": "kubernetes",
            "permissions": {"READ": ["dev"], "WRITE": ["ops"]},
            "kubernetes": kubernetes,
        }
    )


def test_spinnakers_keys_reach_the_provider_but_never_the_clients() -> None:
    configured = account(kubeconfigFile="/etc/kube/config", context="prod", namespaces=["web"], omitKinds=["secret"])
    catalogue = AccountCatalogue([configured])
    details = catalogue.get("k8s-prod")
    assert details is not None
    assert details["cloudProvider"] == "kubernetes"
    assert details["permissions"] == {"READ": ["dev"], "WRITE": ["ops"]}
    assert "kubernetes" not in details
    assert catalogue.settings("k8s-prod")["kubernetes"] == {
        "kubeconfigFile": "/etc/kube/config",
        "context": "prod",
        "namespaces": ["web"],
        "omitNamespaces": [],
        "kinds": [],
        "omitKinds": ["secret"],
    }


def test_plain_account_json_keeps_the_kubernetes_table_private_too() -> None:
    catalogue = AccountCatalogue([{"name": "k8s", "type": "kubernetes", "kubernetes": {"context": "dev"}}])
    details = catalogue.get("k8s")
    assert details is not None and "kubernetes" not in details
    assert catalogue.settings("k8s") == {"kubernetes": {"context": "dev"}}


def test_namespaces_limit_the_account_and_omit_namespaces_exclude() -> None:
    only_web = KubernetesAccountSettings.model_validate({"namespaces": ["web"]})
    assert only_web.covers_namespace("web") and not only_web.covers_namespace("kube-system")
    not_system = KubernetesAccountSettings.model_validate({"omitNamespaces": ["kube-system"]})
    assert not_system.covers_namespace("web") and not not_system.covers_namespace("kube-system")
    assert KubernetesAccountSettings().covers_namespace("anything")


def test_kinds_compare_as_spinnaker_compares_them_case_insensitively() -> None:
    workloads = KubernetesAccountSettings.model_validate({"kinds": ["deployment", "Service"]})
    assert workloads.covers_kind("Deployment") and workloads.covers_kind("service")
    assert not workloads.covers_kind("ConfigMap")
    no_secrets = KubernetesAccountSettings.model_validate({"omitKinds": ["Secret"]})
    assert not no_secrets.covers_kind("secret") and no_secrets.covers_kind("Deployment")


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"namespaces": ["a"], "omitNamespaces": ["b"]}, "omitNamespaces"),
        ({"kinds": ["Pod"], "omitKinds": ["Job"]}, "omitKinds"),
        ({"kubeconfigFile": "kube/config"}, "kubeconfigFile"),
        ({"namespace": ["a"]}, "namespace"),
    ],
)
def test_a_contradictory_or_unknown_key_is_refused_naming_it(table: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        account(**table)


def test_kubernetes_settings_need_a_kubernetes_account() -> None:
    with pytest.raises(ValidationError, match="cloudProvider 'kubernetes'"):
        AccountConfig.model_validate({"name": "x", "cloudProvider": "aws", "kubernetes": {}})
