"""deploy/helm/gennaker renders, lints, passes the Kubernetes schemas and runs every service of the code.

Rendered with Helm's own Go engine (the helm-python-sdk wheel Rosco bakes with, offline), linted as
``helm lint --strict`` does, and every manifest validated against the Kubernetes JSON schemas that
kubernetes-validate carries (strict: no unknown fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from gennaker.settings import load_settings
from schemas.services import SERVICES

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "gennaker"
KUBERNETES = "1.30.0"
EXTERNAL: dict[str, Any] = {
    "amqp": {"url": "amqp://gennaker:broker-pw@rabbitmq.example:5672/gennaker"},
    "mongodb": {"url": "mongodb://gk:store-pw@m0.example,m1.example,m2.example/?replicaSet=rs0"},
    "settings": {"log_level": "DEBUG", "query_timeout": 7.5},
    "secretSettings": {
        "notifications__slack_token": "xoxb-slack-secret",
        "igor": {"jenkins": [{"name": "ci", "address": "https://jenkins.example", "password": "jenkins-secret"}]},
    },
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every manifest the chart renders for ``values``, as ``helm template`` would print them."""
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name="gk", namespace="cd", is_install=True)
    return [
        document
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def kinds(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in manifests if item["kind"] == kind}


def containers(manifests: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for deployment in kinds(manifests, "Deployment").values():
        pod = deployment["spec"]["template"]
        for container in pod["spec"]["containers"]:
            yield pod, container


@pytest.fixture(scope="module")
def external() -> list[dict[str, Any]]:
    return render(EXTERNAL)


@pytest.fixture(scope="module")
def bundled() -> list[dict[str, Any]]:
    rabbitmq = {"enabled": True, "auth": {"password": "rb"}}
    return render({"rabbitmq": rabbitmq, "mongodb": {"enabled": True, "auth": {"rootPassword": "mg"}}})


def test_every_service_of_the_code_runs_as_a_worker_deployment(external: list[dict[str, Any]]) -> None:
    """A service added to schemas/services.py but not to the chart's values fails here."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert list(values["workers"]) == list(SERVICES)
    deployments = kinds(external, "Deployment")
    assert set(deployments) == {"gk-gennaker-gateway", *(f"gk-gennaker-{name}" for name in SERVICES)}
    for name in SERVICES:
        spec = deployments[f"gk-gennaker-{name}"]["spec"]
        assert spec["replicas"] == values["workers"][name]["replicas"]
        assert spec["template"]["spec"]["containers"][0]["args"] == ["worker", name]
    assert deployments["gk-gennaker-gateway"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["gateway"]


def test_replicas_are_set_per_worker_and_for_the_gateway() -> None:
    values = {**EXTERNAL, "gateway": {"replicas": 5}, "workers": {name: {"replicas": 3} for name in SERVICES}}
    deployments = kinds(render(values), "Deployment")
    assert {item["spec"]["replicas"] for item in deployments.values()} == {3, 5}
    assert deployments["gk-gennaker-gateway"]["spec"]["replicas"] == 5


@pytest.mark.parametrize("layout", ["external", "bundled"])
def test_every_manifest_passes_the_kubernetes_schemas(layout: str, request: pytest.FixtureRequest) -> None:
    manifests: list[dict[str, Any]] = request.getfixturevalue(layout)
    assert {item["kind"] for item in manifests} == {"ConfigMap", "Secret", "Deployment", "Service"}
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def test_a_wrong_manifest_is_refused_by_the_schemas(external: list[dict[str, Any]]) -> None:
    """The schema check can fail: a field Kubernetes does not know is an error."""
    deployment = json.loads(json.dumps(kinds(external, "Deployment")["gk-gennaker-orca"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/metrics"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_helm_lint_finds_nothing_but_the_dependencies_left_to_fetch() -> None:
    """Bitnami's charts are declared, not vendored: `helm dependency update` fetches them when they are used."""
    report = helm.lint(CHART, EXTERNAL, strict=True)
    problems = [item["error"] for item in report["messages"] if item["severity"] >= 2]
    assert problems == ["chart directory is missing these dependencies: rabbitmq,mongodb"]


def test_probes_read_health_and_metrics_and_pods_are_annotated_for_prometheus(external: list[dict[str, Any]]) -> None:
    for pod, container in containers(external):
        port = container["ports"][0]
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port["containerPort"])
        assert annotations["prometheus.io/path"] == "/metrics"
        ready, alive = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
        assert ready["port"] == alive["port"] == port["name"]
        assert ready["path"] == ("/health" if container["name"] == "gateway" else "/metrics")
        assert alive["path"] == "/metrics"


def test_the_gateway_answers_to_its_service_and_its_pod_address(external: list[dict[str, Any]]) -> None:
    """Kubelet probes and Prometheus call the pod by its IP: that Host must not get a 421."""
    gateway = next(c for _pod, c in containers(external) if c["name"] == "gateway")
    env = {item["name"]: item for item in gateway["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    hosts = json.loads(env["GENNAKER_GATEWAY_ALLOWED_HOSTS"]["value"])
    assert {"$(POD_IP)", "gk-gennaker-gateway", ".gk-gennaker-gateway.cd.svc"} <= set(hosts)
    assert list(env).index("POD_IP") < list(env).index("GENNAKER_GATEWAY_ALLOWED_HOSTS")


def test_settings_go_to_the_config_map_secrets_to_the_secret_and_both_load(
    external: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_map = kinds(external, "ConfigMap")["gk-gennaker-settings"]
    secret = kinds(external, "Secret")["gk-gennaker-secrets"]["stringData"]
    text = config_map["data"]["settings.yaml"]
    for secret_value in ("broker-pw", "store-pw", "xoxb-slack-secret", "jenkins-secret"):
        assert secret_value not in text
        assert any(secret_value in value for value in secret.values())
    for _pod, container in containers(external):
        assert container["envFrom"] == [{"secretRef": {"name": "gk-gennaker-secrets"}}]
        assert {"name": "settings", "mountPath": "/etc/gennaker", "readOnly": True} in container["volumeMounts"]
    (tmp_path / "settings.yaml").write_text(text)
    for name, value in secret.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(tmp_path / "settings.yaml")
    assert settings.log_level == "DEBUG" and settings.query_timeout == 7.5 and settings.metrics_port == 9464
    assert settings.amqp_url == EXTERNAL["amqp"]["url"] and settings.mongo_url == EXTERNAL["mongodb"]["url"]
    assert settings.notifications.slack_token == "xoxb-slack-secret"
    password = settings.igor.jenkins[0].password
    assert password is not None and password.get_secret_value() == "jenkins-secret"


def test_bundled_dependencies_give_the_broker_and_the_replica_set_urls(bundled: list[dict[str, Any]]) -> None:
    secret = kinds(bundled, "Secret")["gk-gennaker-secrets"]["stringData"]
    assert secret["GENNAKER_AMQP_URL"] == "amqp://gennaker:rb@gk-rabbitmq:5672/"
    hosts = ",".join(f"gk-mongodb-{index}.gk-mongodb-headless:27017" for index in range(3))
    assert secret["GENNAKER_MONGO_URL"] == f"mongodb://root:mg@{hosts}/?replicaSet=rs0&authSource=admin"


def test_without_a_broker_the_chart_says_which_value_to_set() -> None:
    with pytest.raises(helm.HelmRenderError, match=r"set amqp\.url"):
        render({"mongodb": EXTERNAL["mongodb"]})
    with pytest.raises(helm.HelmRenderError, match=r"set mongodb\.url"):
        render({"amqp": EXTERNAL["amqp"]})


def test_the_values_schema_knows_every_service_and_refuses_others() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert list(schema["properties"]["workers"]["properties"]) == list(SERVICES)
    with pytest.raises(helm.HelmValuesError, match="additional properties 'spinnaker' not allowed"):
        render({**EXTERNAL, "workers": {"spinnaker": {"replicas": 1}}})
    with pytest.raises(helm.HelmValuesError, match="/amqp/url"):
        render({**EXTERNAL, "amqp": {"url": "http://rabbitmq.example"}})
    with pytest.raises(helm.HelmValuesError, match="/workers/orca/replicas"):
        render({**EXTERNAL, "workers": {"orca": {"replicas": -1}}})
