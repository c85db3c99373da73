"""Reading a rendered dinghyfile as Dinghy does, and the dry run's pipeline-by-pipeline plan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.dinghy.dinghyfile import DEFAULT_EMAIL, DinghyfileError, read_dinghyfile
from workers.dinghy.plan import plan


def test_application_comes_from_spec_or_application_and_email_defaults() -> None:
    dinghyfile = read_dinghyfile('{"application": "shop", "pipelines": []}')
    assert (dinghyfile.application, dinghyfile.spec["email"]) == ("shop", DEFAULT_EMAIL)
    dinghyfile = read_dinghyfile('{"spec": {"name": "cart", "email": "a@b.c"}, "deleteStalePipelines": true}')
    assert (dinghyfile.application, dinghyfile.delete_stale_pipelines) == ("cart", True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"application": "shop",\n "pipelines": [}', "malformed json: Error in line 2, char 16"),
        ('{"pipelines": []}', "names no application"),
        ('{"application": "a", "pipelines": [{"stages": []}]}', r"pipelines\[0\]\.name"),
        ('{"application": "a", "pipelines": [{"name": "p"}, {"name": "p"}]}', "named twice"),
        (
            '{"application": "a", "pipelines": [{"name": "p", '
            '"stages": [{"refId": "1", "requisiteStageRefIds": ["9"]}]}]}',
            "requires refId '9'",
        ),
        ('{"application": "a", "pipelines": [{"name": "p", "stages": [{"refId": "1"}, {"refId": "1"}]}]}', "duplicate"),
    ],
)
def test_dinghyfiles_dinghy_would_refuse(text: str, message: str) -> None:
    with pytest.raises(DinghyfileError, match=message):
        read_dinghyfile(text)


def test_plan_upserts_by_name_keeping_ids_and_deletes_stale_pipelines() -> None:
    dinghyfile = read_dinghyfile(
        json.dumps(
            {
                "application": "shop",
                "deleteStalePipelines": True,
                "pipelines": [
                    {"name": "same", "stages": []},
                    {"name": "changed", "stages": [{"refId": "1", "type": "wait", "waitTime": 5}]},
                    {"name": "new", "stages": []},
                ],
            }
        )
    )
    existing: list[dict[str, Any]] = [
        {"id": "i1", "name": "same", "application": "shop", "stages": [], "updateTs": "1", "lastModifiedBy": "x"},
        {
            "id": "i2",
            "name": "changed",
            "application": "shop",
            "stages": [{"refId": "1", "type": "wait", "waitTime": 1}],
        },
        {"id": "i3", "name": "stale", "application": "shop", "stages": []},
    ]
    result = plan(dinghyfile, existing)
    assert [(c.name, c.action, c.existing_id) for c in result.changes] == [
        ("same", "unchanged", "i1"),
        ("changed", "update", "i2"),
        ("new", "create", None),
        ("stale", "delete", "i3"),
    ]
    changed = result.changes[1]
    assert changed.pipeline is not None and changed.pipeline["id"] == "i2"
    assert '-      "waitTime": 1\n+      "waitTime": 5' in changed.diff
    assert result.summary()["delete"] == ["stale"] and result.changed
    assert "update pipeline 'changed'" in result.describe()
    again = plan(
        read_dinghyfile(json.dumps({"application": "shop", "pipelines": [{"name": "same", "stages": []}]})), existing
    )
    assert not again.changed and "no changes to application shop" in again.describe()


def test_dinghy_settings_name_what_is_wrong() -> None:
    from pydantic import ValidationError

    from schemas.dinghy import DinghyRepository, DinghySettings

    repo = DinghyRepository(name="acme/shop", url="/srv/git/shop.git")
    assert DinghySettings(template_repo="ACME/shop", repositories=[repo]).repository("acme/SHOP") == repo
    with pytest.raises(ValidationError, match="template_repo 'acme/templates' is not one of"):
        DinghySettings(template_repo="acme/templates", repositories=[repo])
    with pytest.raises(ValidationError, match="'acme/shop' is listed twice"):
        DinghySettings(repositories=[repo, repo])
    with pytest.raises(ValidationError, match="name"):
        DinghyRepository(name="no-slash", url="x")
