"""Orca's bake stage, planned and gathered without a bus: regions, the suffix, deploymentDetails, and the
deploy that takes the upstream bake's image."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.orca.engine_core import START, execution, stage
from workers.orca.engine.model import Stage, Task
from workers.orca.engine.stages.bake import BakeStage, CompleteParallelBakeTask
from workers.orca.engine.stages.base import TaskRun
from workers.orca.engine.stages.deploy.upstream_image import with_image
from workers.orca.engine.status import ExecutionStatus


def _deploy(*regions: str, provider: str = "local", **cluster: Any) -> Stage:
    clusters = [{"cloudProvider": provider, "region": region, "account": "local", **cluster} for region in regions]
    return stage("2", "deploy", after=["1"], clusters=clusters)


@pytest.mark.parametrize(
    ("context", "deployed", "expected"),
    [
        ({"region": "a", "regions": ["b", "a"]}, ("c",), ["a", "b", "c"]),
        ({"regions": ["b"], "skipRegionDetection": True}, ("c",), ["b"]),
        ({"regions": ["global"]}, ("c",), ["global"]),
        ({}, ("c", "d"), ["c", "d"]),
        ({"cloudProviderType": "aws"}, ("c",), []),  # the deploy is local: not this bake's provider
    ],
)
def test_the_regions_are_the_stages_and_the_downstream_deploys(
    context: dict[str, Any], deployed: tuple[str, ...], expected: list[str]
) -> None:
    bake = stage("1", "bake", **{"cloudProviderType": "local", "package": "hello", **context})
    run = execution(bake, _deploy(*deployed))
    definition = BakeStage()
    if not expected:
        with pytest.raises(ValueError, match="a bake stage needs a region"):
            definition.before_stages(bake, run)
        return
    children = definition.before_stages(bake, run)
    assert [child["name"] for child in children] == [f"Bake in {region}" for region in expected]
    assert all(child["type"] == "bake" and child["package"] == "hello" for child in children)
    assert all("regions" not in child and "skipRegionDetection" not in child for child in children)


def test_the_suffix_defaults_to_the_stages_start_and_is_the_same_in_every_region() -> None:
    bake = stage("1", "bake", regions=["a", "b"], skipRegionDetection=True).model_copy(update={"start_time": START})
    children = BakeStage().before_stages(bake, execution(bake))
    assert {child["amiSuffix"] for child in children} == {"20231114221320"}
    given = stage("1", "bake", regions=["a"], amiSuffix="mine")
    assert BakeStage().before_stages(given, execution(given))[0]["amiSuffix"] == "mine"


def test_the_parent_gathers_deployment_details_and_a_deploy_takes_the_image_of_its_region() -> None:
    parent = stage("1", "bake", regions=["a", "b"], skipRegionDetection=True)
    children = [
        Stage(
            id=f"c{region}",
            ref_id=f"1<{index}",
            type="bake",
            name=f"Bake in {region}",
            parent_stage_id=parent.id,
            synthetic_stage_owner="STAGE_BEFORE",
            synthetic_role="before",
            status=ExecutionStatus.SUCCEEDED,
            context={
                "region": region,
                "cloudProviderType": "local",
                "ami": f"img-{region}",
                "imageId": f"img-{region}",
                "imageName": "hello-all-1-python",
                "secret": "not copied",
            },
        )
        for index, region in enumerate(("a", "b"))
    ]
    deploy = _deploy("b")
    child = Stage(
        id="cd",
        ref_id="2<1",
        type="createServerGroup",
        name="Deploy",
        parent_stage_id=deploy.id,
        synthetic_stage_owner="STAGE_BEFORE",
        synthetic_role="before",
        context=dict(deploy.context["clusters"][0]),
    )
    run = execution(parent, *children, deploy, child)
    result = CompleteParallelBakeTask().run(
        TaskRun(run, parent, Task(id="1", name="completeParallel", implementing_class="completeParallel"), START)
    )
    details = result.outputs["deploymentDetails"]
    assert [detail["region"] for detail in details] == ["a", "b"]
    assert all("secret" not in detail for detail in details)
    done = run.model_copy(
        update={"stages": [parent.model_copy(update={"outputs": result.outputs}), *children, deploy, child]}
    )
    shaped = with_image(done, child)
    assert (shaped["amiName"], shaped["imageId"]) == ("img-b", "img-b")
    named = child.model_copy(update={"context": {**child.context, "amiName": "pinned"}})
    assert with_image(done, named)["amiName"] == "pinned"
