"""An attacker's view of pipeline size and names: each bound at and over its limit, on save and on start.

Front50 refuses a pipeline over a limit when it is saved and Orca when one is started ad hoc
(``POST /pipelines/start`` carries the pipeline and never passes Front50); both answer with a 400
naming the field, the limit and the value. Names holding control or text-direction characters, or
longer than the limit, are refused the same way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from schemas.json_types import Json
from schemas.limits import NAME_MAX_LENGTH, PipelineLimits, name_problem, pipeline_problem
from tests.integration.gate.conftest import System, start_system
from tests.integration.gate.flows import create_application
from workers.front50.errors import Rejected
from workers.front50.validation import check_application

LIMITS = {"MAX_STAGES": "5", "MAX_DEPTH": "2", "MAX_STAGE_BYTES": "2048", "MAX_PIPELINE_BYTES": "8192"}


@pytest.fixture
async def system(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[System]:
    for name, value in LIMITS.items():
        monkeypatch.setenv(f"GENNAKER_PIPELINE_LIMITS__{name}", value)
    async with AsyncExitStack() as stack:
        system = await start_system(stack, workers=("front50", "orca"))
        await create_application(system.client, "shop")
        yield system


def wait(ref: int, **extra: Any) -> Json:
    return {"refId": str(ref), "type": "wait", "waitTime": 1, "name": f"wait {ref}", **extra}


def pipeline(*stages: Json, name: str = "p") -> Json:
    return {"application": "shop", "name": name, "stages": list(stages)}


async def refusal(system: System, path: str, body: Json) -> Json:
    response = await system.client.post(path, json=body)
    text = await response.text()
    assert response.status == 400, (path, response.status, text)
    answer: Json = json.loads(text)
    return answer


async def accepted(system: System, path: str, body: Json) -> None:
    response = await system.client.post(path, json=body)
    assert response.status in (200, 202), (path, await response.text())


def field_of(answer: Json) -> str:
    return str(answer.get("field") or "")


def text_of(answer: Json) -> str:
    return str(answer.get("message") or answer.get("error") or "")


@pytest.mark.parametrize("path", ["/pipelines", "/pipelines/start"])
async def test_the_number_of_stages_is_bounded(system: System, path: str) -> None:
    await accepted(system, path, pipeline(*(wait(i) for i in range(1, 6))))
    answer = await refusal(system, path, pipeline(*(wait(i) for i in range(1, 7))))
    assert field_of(answer) == "stages"
    assert "more than 5 stages" in text_of(answer) and "max_stages" in text_of(answer)


@pytest.mark.parametrize("path", ["/pipelines", "/pipelines/start"])
async def test_compensations_count_as_stages_and_their_nesting_is_bounded(system: System, path: str) -> None:
    await accepted(system, path, pipeline(wait(1, compensation=[wait(1)])))
    too_deep = wait(1, compensation=[wait(1, compensation=[wait(1)])])
    answer = await refusal(system, path, pipeline(too_deep))
    assert field_of(answer) == "stages[0].compensation[0].compensation[0]"
    assert "3 deep" in text_of(answer) and "max_depth" in text_of(answer)
    many = [wait(1, compensation=[wait(i) for i in range(5)])]
    assert field_of(await refusal(system, path, pipeline(*many))) == "stages"


@pytest.mark.parametrize("path", ["/pipelines", "/pipelines/start"])
async def test_the_size_of_a_stage_and_of_the_pipeline_is_bounded(system: System, path: str) -> None:
    await accepted(system, path, pipeline(wait(1, notes="x" * 1500)))
    answer = await refusal(system, path, pipeline(wait(1, notes="x" * 2100)))
    assert field_of(answer) == "stages[0]" and "max_stage_bytes" in text_of(answer) and "2048" in text_of(answer)
    whole = {**pipeline(wait(1)), "description": "y" * 9000}
    answer = await refusal(system, path, whole)
    assert field_of(answer) == "pipeline" and "max_pipeline_bytes" in text_of(answer) and "8192" in text_of(answer)


HIDING = {
    "NUL": "deploy\x00prod",
    "newline": "deploy\nprod",
    "escape": "deploy\x1b[31mprod",
    "right-to-left override": "deploy\u202eprod",
    "isolate": "deploy\u2066prod",
    "too long": "p" * (NAME_MAX_LENGTH + 1),
}


@pytest.mark.parametrize("name", HIDING.values(), ids=HIDING.keys())
@pytest.mark.parametrize("path", ["/pipelines", "/pipelines/start"])
async def test_names_refuse_control_and_bidi_characters_and_length(system: System, path: str, name: str) -> None:
    answer = await refusal(system, path, pipeline(wait(1), name=name))
    assert field_of(answer) == "name", answer
    stage = {**wait(1), "name": name}
    assert field_of(await refusal(system, path, pipeline(stage))) == "stages[0].name"


async def test_names_at_the_limit_and_in_any_script_are_accepted(system: System) -> None:
    await accepted(system, "/pipelines", pipeline(wait(1, name="ß" * NAME_MAX_LENGTH), name="déploiement 部署 🚀"))
    assert name_problem("p" * NAME_MAX_LENGTH) is None


def test_deploy_clusters_count_as_stages() -> None:
    limits = PipelineLimits(max_stages=3, max_depth=2)
    deploy = {"refId": "1", "type": "deploy", "clusters": [{"account": "local"}] * 2}
    assert pipeline_problem({"stages": [deploy]}, limits) is None
    over = pipeline_problem({"stages": [{**deploy, "clusters": [{"account": "local"}] * 3}]}, limits)
    assert over is not None and over.field == "stages"


def test_front50_refuses_an_application_name_over_the_limit() -> None:
    check_application({"name": "a" * NAME_MAX_LENGTH, "email": "ops@example.com"})
    with pytest.raises(Rejected) as refused:
        check_application({"name": "a" * (NAME_MAX_LENGTH + 1), "email": "ops@example.com"})
    assert refused.value.field == "name" and str(NAME_MAX_LENGTH) in refused.value.reason
