"""Igor's pure parts: properties files, job names and trees, masters and their permissions, settings."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest
from pydantic import ValidationError

from gennaker.settings import Settings
from schemas.authority import Authority, Permission
from schemas.igor import JenkinsMasterConfig
from tests.jenkins_server import apply_tree, parse_tree, to_xml
from workers.igor.jenkins import from_xml, generic_build, job_parts, job_path, nested_tree, parameters_of
from workers.igor.masters import Masters, Refused
from workers.igor.properties import parse_properties
from workers.igor.stage_task import JOB_STATUS, check_choices, parameter_value


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "build.properties",
            b"# c\n! c\nA=1\nB : two words \nC\\\n  ontinued=x\nD=\n",
            {"A": "1", "B": "two words", "Continued": "x", "D": ""},
        ),
        ("out/props.yml", b"image: shop\ncount: 3\n", {"image": "shop", "count": 3}),
        ("props.json", b'{"channel": "beta", "n": [1]}', {"channel": "beta", "n": [1]}),
        ("props.json", b"[1, 2]", {}),
        ("props.yaml", b"a: [unclosed", {}),
        ("props.json", b"{nope", {}),
    ],
)
def test_properties_files_are_read_by_their_format(name: str, content: bytes, expected: dict[str, object]) -> None:
    assert parse_properties(name, content) == expected


def test_job_names_in_folders() -> None:
    assert job_parts("a/job/b/job/c") == ["a", "b", "c"]
    assert job_parts("a/b") == ["a", "b"]
    assert job_parts("job") == ["job"]
    assert job_path("team/job/my app") == "job/team/job/my%20app"
    assert nested_tree("name", 2) == "jobs[name,jobs[name]]"


def test_a_tree_cuts_as_jenkins_does_and_xml_repeats_list_elements() -> None:
    shape = {"_class": "x.Build", "number": 3, "artifacts": [{"fileName": "a"}, {"fileName": "b"}], "url": "u"}
    assert apply_tree(shape, parse_tree("number,artifacts[fileName]{1,}")) == {
        "_class": "x.Build",
        "number": 3,
        "artifacts": [{"fileName": "b"}],
    }
    assert to_xml("build", {"number": 3, "building": False, "artifacts": [{"f": 1}, {"f": 2}], "none": None}) == (
        "<build><number>3</number><building>false</building><artifacts><f>1</f></artifacts>"
        "<artifacts><f>2</f></artifacts></build>"
    )
    with pytest.raises(ValueError):
        parse_tree("a[b")


def test_orca_maps_jenkins_results_and_igor_checks_choices() -> None:
    assert JOB_STATUS["ABORTED"] == ("CANCELED", "Job was aborted (see Jenkins)")
    assert JOB_STATUS["UNSTABLE"] == ("TERMINAL", "Job is unstable")
    assert generic_build("j", {"number": 1, "building": True, "result": None})["result"] == "BUILDING"
    assert parameter_value(True) == "true" and parameter_value(3) == "3" and parameter_value("x") == "x"
    config = {
        "property": [
            {"parameterDefinitions": [{"name": "E", "type": "ChoiceParameterDefinition", "choices": ["a", "b"]}]}
        ]
    }
    check_choices(config, {"E": "a", "other": "z"})
    with pytest.raises(Refused, match=re.escape("`c` is not a valid choice for `E`. Valid choices are: a, b")):
        check_choices(config, {"E": "c"})


def test_masters_are_judged_like_accounts() -> None:
    restricted = JenkinsMasterConfig(
        name="ci", address="http://127.0.0.1:1", permissions={"READ": ("dev", "ops"), "WRITE": ("ops",)}
    )
    masters = Masters([restricted, JenkinsMasterConfig(name="open", address="http://127.0.0.1:2")])
    dev, ops, nobody = Authority(user="d", roles=("dev",)), Authority(user="o", roles=("Ops ",)), Authority.nobody()
    assert masters.names(dev) == ["ci", "open"] and masters.names(nobody) == []
    assert masters.require("ci", ops, Permission.WRITE).name == "ci"
    with pytest.raises(Refused, match="Access denied to master 'ci': WRITE is required") as refused:
        masters.require("ci", dev, Permission.WRITE)
    assert refused.value.status == 403
    with pytest.raises(Refused, match="Master 'gone' not found"):
        masters.require("gone", ops, Permission.READ)


def test_settings_name_masters_once_and_keep_tokens_secret() -> None:
    master = {"name": "ci", "address": "https://jenkins.example.com", "username": "u", "password": "tok"}
    settings = Settings.model_validate({"igor": {"jenkins": [master], "poll_interval": 30}})
    assert "tok" not in repr(settings.igor) and settings.igor.jenkins[0].password is not None
    with pytest.raises(ValidationError, match=re.escape("igor.jenkins masters are listed twice: ci")):
        Settings.model_validate({"igor": {"jenkins": [master, master]}})
    with pytest.raises(ValidationError, match="address"):
        Settings.model_validate({"igor": {"jenkins": [{**master, "address": "ftp://x"}]}})


def test_settings_name_docker_registries_once_with_repositories_and_keep_passwords_secret() -> None:
    hub = {"name": "dockerhub", "address": "https://index.docker.io", "repositories": ["acme/shop"], "password": "p"}
    settings = Settings.model_validate({"igor": {"docker_registries": [hub]}})
    [registry] = settings.igor.docker_registries
    assert registry.registry == "index.docker.io" and "'p'" not in repr(settings.igor)
    with pytest.raises(ValidationError, match=re.escape("igor.docker_registries are listed twice: dockerhub")):
        Settings.model_validate({"igor": {"docker_registries": [hub, hub]}})
    with pytest.raises(ValidationError, match="'Acme/Shop' is not a docker repository"):
        Settings.model_validate({"igor": {"docker_registries": [{**hub, "repositories": ["Acme/Shop"]}]}})
    with pytest.raises(ValidationError, match="repositories"):
        Settings.model_validate({"igor": {"docker_registries": [{**hub, "repositories": []}]}})


def test_a_build_read_from_xml_is_its_json() -> None:
    shape = {
        "_class": "hudson.model.FreeStyleBuild",
        "number": 7,
        "building": False,
        "result": "SUCCESS",
        "description": None,
        "artifacts": [{"fileName": "a.txt", "relativePath": "out/a.txt"}],
        "actions": [{"_class": "hudson.model.ParametersAction", "parameters": [{"name": "V", "value": "1.2"}]}],
    }
    read = from_xml(ElementTree.fromstring(to_xml("freeStyleBuild", shape)))
    assert read == {
        "number": 7,
        "building": False,
        "result": "SUCCESS",
        "artifacts": [{"fileName": "a.txt", "relativePath": "out/a.txt"}],
        "actions": [{"parameters": [{"name": "V", "value": "1.2"}]}],
    }
    assert parameters_of(read) == {"V": "1.2"}
