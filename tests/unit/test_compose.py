"""docker-compose.yml, the Dockerfile and deploy/prometheus.yml agree with the code: no engine runs them here."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "gennaker:latest"
METRICS_PORT = "9464"


def load_yaml(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(data, dict), f"{name} is not a YAML mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    services: dict[str, Any] = load_yaml("docker-compose.yml")["services"]
    return services


@pytest.fixture(scope="module")
def gennaker_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {name: service for name, service in compose.items() if service.get("image") == IMAGE}


def test_every_gennaker_container_is_the_gateway_or_a_real_worker(gennaker_services: dict[str, Any]) -> None:
    for name, service in gennaker_services.items():
        command = service.get("command")
        if name == "gateway":
            assert command == ["gateway"]
        else:
            assert name in SERVICES, f"compose service {name!r} runs gennaker but is no worker in SERVICES"
            assert command == ["worker", name]


def test_the_broker_has_no_guest_and_answers_on_loopback_only(compose: dict[str, Any]) -> None:
    """Whoever reaches the broker with the services' user can publish as a service: no well-known
    password, and no port open to the network."""
    broker = compose["rabbitmq"]
    assert broker["environment"]["RABBITMQ_DEFAULT_USER"] == "gennaker"
    assert broker["environment"]["RABBITMQ_DEFAULT_PASS"].startswith("${GENNAKER_AMQP_PASSWORD:?")
    assert broker["environment"]["RABBITMQ_DEFAULT_VHOST"] == "gennaker"
    assert all(str(port).startswith("127.0.0.1:") for port in broker["ports"])
    for name, service in compose.items():
        url = service.get("environment", {}).get("GENNAKER_AMQP_URL", "")
        assert "guest" not in url, f"{name} reaches the broker as guest"


def test_every_worker_has_a_container(gennaker_services: dict[str, Any]) -> None:
    assert set(SERVICES) <= set(gennaker_services), f"no compose service for {set(SERVICES) - set(gennaker_services)}"


def test_containers_reach_the_broker_and_store_once_they_are_healthy(compose: dict[str, Any]) -> None:
    for infrastructure in ("rabbitmq", "mongo"):
        assert "healthcheck" in compose[infrastructure]
    assert compose["rabbitmq"]["image"].startswith("rabbitmq:3.") and compose["rabbitmq"]["image"].endswith(
        "-management"
    )
    assert compose["mongo"]["image"].startswith("mongo:7.")
    for name in SERVICES:
        worker = compose[name]
        assert worker["environment"]["GENNAKER_AMQP_URL"].startswith("amqp://gennaker:${GENNAKER_AMQP_PASSWORD:?")
        assert worker["environment"]["GENNAKER_MONGO_URL"] == "mongodb://mongo:27017/gennaker"
        assert worker["environment"]["GENNAKER_METRICS_PORT"] == METRICS_PORT
        for dependency in ("rabbitmq", "mongo"):
            assert worker["depends_on"][dependency] == {"condition": "service_healthy"}
    gateway = compose["gateway"]
    assert "GENNAKER_MONGO_URL" not in gateway["environment"], "the gateway holds no database connection"
    assert gateway["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
    assert "8084:8084" in gateway["ports"]


def test_dockerfile_runs_gennaker_which_is_a_console_script() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert lines[[line.startswith("FROM") for line in lines].index(True)].split()[1].startswith("python:3.13-slim")
    entrypoints = [line.removeprefix("ENTRYPOINT").strip() for line in lines if line.startswith("ENTRYPOINT")]
    assert [json.loads(entry) for entry in entrypoints] == [["gennaker"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["gennaker"] == "gennaker.cli:main"


def test_the_image_carries_the_binaries_the_services_run() -> None:
    text = (ROOT / "Dockerfile").read_text()
    installs = [line for line in text.splitlines() if "apt-get install" in line]
    assert installs, "the image installs no Debian packages"
    packages = set(installs[0].split())
    # git: Dinghy's and Terraformer's repositories; packer: Rosco's bakes; kubernetes-client: kubectl kustomize
    assert {"git", "packer", "kubernetes-client"} <= packages
    assert "CHECKPOINT_DISABLE=1" in text, "Packer and Terraform must not call home from the image"


def test_the_console_script_target_exists() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module_name, _, function = scripts["gennaker"].partition(":")
    assert callable(getattr(importlib.import_module(module_name), function))


def test_prometheus_scrapes_the_gateway_and_every_worker(compose: dict[str, Any]) -> None:
    config = load_yaml("deploy/prometheus.yml")
    targets: set[tuple[str, str]] = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets |= {tuple(target.rsplit(":", 1)) for target in static["targets"]}
        for dns in job.get("dns_sd_configs", []):
            targets |= {(name, str(dns["port"])) for name in dns["names"]}
    hosts = {host for host, _ in targets} - {"localhost"}
    assert hosts <= set(compose), f"prometheus scrapes hosts that are no compose service: {hosts - set(compose)}"
    assert ("gateway", "8084") in targets
    for name in SERVICES:
        assert (name, METRICS_PORT) in targets, f"prometheus does not scrape worker {name}"
    mounted = compose["prometheus"]["volumes"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounted


def test_every_image_from_elsewhere_is_pinned_to_a_release(compose: dict[str, Any]) -> None:
    for name, service in compose.items():
        image = str(service.get("image", IMAGE))
        if image == IMAGE:
            continue
        tag = image.rpartition(":")[2] if ":" in image else ""
        assert re.match(r"v?\d+\.\d+\.\d+", tag), f"{name}: image {image!r} is not pinned to a release (x.y.z)"


def test_the_mongo_healthcheck_fails_until_the_node_is_the_writable_primary(compose: dict[str, Any]) -> None:
    script = compose["mongo"]["healthcheck"]["test"][-1]
    assert "rs.initiate(" in script, "it initiates the replica set on first start"
    assert "quit(db.hello().isWritablePrimary ? 0 : 1)" in script, "mongosh --eval exits 0 unless told otherwise"


def test_the_build_context_leaves_out_the_local_tools_and_environments() -> None:
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".tools", ".venv", ".git"} <= ignored
