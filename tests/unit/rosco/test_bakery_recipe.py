"""Rosco's package rules, image names, bake keys and Packer commands, and the shipped templates validate."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from schemas.rosco import BakeRequestBody, RoscoSettings
from workers.rosco.bakery import packages
from workers.rosco.bakery.recipe import BakeRefused, Bakery
from workers.rosco.worker import TEMPLATES


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        (
            "deb",
            "nflx-djangobase-enhanced_0.1-h12.170cdbd_all",
            ("nflx-djangobase-enhanced", "0.1", "h12.170cdbd", "all"),
        ),
        ("deb", "hello", ("hello", None, None, None)),
        ("deb", "hello_1.0", ("hello", "1.0", None, None)),
        (
            "rpm",
            "nflx-djangobase-enhanced-0.1-h12.170cdbd.all",
            ("nflx-djangobase-enhanced", "0.1", "h12.170cdbd", "all"),
        ),
        ("rpm", "hello-1.0-3.noarch", ("hello", "1.0", "3", "noarch")),
        ("rpm", "hello", ("hello", None, None, None)),
    ],
)
def test_package_names_parse_by_roscos_rules(kind: str, name: str, expected: tuple[str | None, ...]) -> None:
    parsed = packages.parse(kind, name)  # type: ignore[arg-type]
    assert (parsed.name, parsed.version, parsed.release, parsed.arch) == expected


def test_qualified_names_image_names_and_app_versions() -> None:
    deb = packages.parse_all("deb", "hello_1.2-3_x86 extra")
    assert packages.packages_parameter("deb", deb) == "hello=1.2-3 extra"
    assert packages.packages_parameter("rpm", packages.parse_all("rpm", "hello-1.2-3.noarch")) == "hello-1.2-3"
    request = BakeRequestBody(
        package_name="hello_1.2-3_x86", base_os="bionic", build_number="9", commit_hash="abc", job="a/b"
    )
    assert packages.image_name(request, deb, now_ms=1234) == "hello-x86-1234-bionic"
    named = request.model_copy(update={"ami_name": "shop", "ami_suffix": "20261203"})
    assert packages.image_name(named, [], now_ms=1) == "shop-all-20261203-bionic"
    assert packages.app_version(request, deb[0]) == "hello-1.2-h9.abc/a-b/9"
    assert packages.app_version(request, packages.parse("deb", "hello")) is None  # no version: no app version


def _bakery() -> Bakery:
    return Bakery(defaults=dict(RoscoSettings().bakery_defaults), config_dir=TEMPLATES, packer="packer")


def test_the_command_is_roscos_and_the_key_ignores_the_suffix() -> None:
    bakery = _bakery()
    request = BakeRequestBody(
        package_name="hello_1.0-1_all",
        base_os="bionic",
        cloud_provider_type="aws",
        ami_suffix="s1",
        extended_attributes={"share_with": "111, 222"},
    )
    recipe = bakery.recipe("us-east-1", request)
    assert recipe.command[:3] == ["packer", "build", "-color=false"]
    assert recipe.command[-1] == str(TEMPLATES / "aws-ebs.json")
    pairs = dict(item.split("=", 1) for item in recipe.command[4:-1:2])
    assert pairs["image_name"] == "hello-all-s1-bionic" and pairs["instance_type"] == "t3.small"
    assert pairs["share_with_1"] == "111" and pairs["share_with_2"] == "222" and pairs["packages"] == "hello=1.0-1"
    other_suffix = request.model_copy(update={"ami_suffix": "s2"})
    assert bakery.bake_key("us-east-1", request, "app") == bakery.bake_key("us-east-1", other_suffix, "app")
    assert bakery.bake_key("us-east-1", request, "app") != bakery.bake_key("us-west-2", request, "app")
    assert bakery.bake_key("us-east-1", request, "app") != bakery.bake_key("us-east-1", request, "other")


def test_unknown_base_os_region_provider_and_template_are_refused_naming_the_field() -> None:
    bakery = _bakery()
    cases = [
        (
            BakeRequestBody(base_os="plan9", cloud_provider_type="aws"),
            "us-east-1",
            "base_os",
            "No virtualization settings found for 'plan9'.",
        ),
        (
            BakeRequestBody(base_os="bionic", cloud_provider_type="aws"),
            "mars-1",
            "region",
            "No virtualization settings found for region 'mars-1', operating system 'bionic', and vm type 'None'.",
        ),
        (
            BakeRequestBody(base_os="bionic", cloud_provider_type="openstack"),
            "r",
            "cloud_provider_type",
            "Unknown provider type 'openstack'. Known: aws, docker, gce, local.",
        ),
        (
            BakeRequestBody(base_os="bionic", cloud_provider_type="aws", template_file_name="nope.json"),
            "us-east-1",
            "template_file_name",
            "No template file found for 'nope.json' in the bakery's config directory.",
        ),
    ]
    for request, region, field, message in cases:
        with pytest.raises(BakeRefused) as refused:
            bakery.recipe(region, request)
        assert (refused.value.field, refused.value.reason) == (field, message)


@pytest.mark.parametrize("template", ["aws-ebs.json", "gce.json", "docker.json", "local.json"])
def test_the_shipped_templates_pass_packer_validate(template: str) -> None:
    variables = [
        "-var",
        f"configDir={TEMPLATES}",
        "-var",
        "image_name=hello-all-1-bionic",
        "-var",
        "source_ami=ami-0abc",
    ]
    done = subprocess.run(
        ["packer", "validate", *variables, str(Path(TEMPLATES) / template)],
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
