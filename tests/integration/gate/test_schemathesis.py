"""Schemathesis against the running gateway: generated requests for every Gate route, no 5xx, answers as documented.

The app under test runs on the test's event loop; schemathesis's synchronous client runs in a
worker thread so the loop keeps serving while it waits for answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.gate.conftest import System
from tests.integration.gate.flows import create_application, exported_pipeline

GATE_TAGS = {"applications", "pipelines", "tasks", "credentials", "projects", "system", "canary configs"}
"""The tags of the Gate-compatible routes (``system`` adds /version and /health)."""
EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
KNOWN = {"application": "shop", "pipelineName": "deploy to prod", "account": "staging"}
"""Path parameters naming things that exist, so generated requests reach past the 404s too."""


def fuzz(document: dict[str, Any], base_url: str) -> list[str]:
    """Run every Gate operation with generated data; returns the failures (empty when all conform)."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    selected = [op for op in operations if set(op.definition.raw.get("tags", ())) & GATE_TAGS]
    assert len(selected) >= 18, [op.label for op in selected]
    passes = [(op, op.as_strategy()) for op in selected]
    for op in selected:
        names = {parameter.name for parameter in op.path_parameters}
        if names and names <= KNOWN.keys():
            passes.append((op, op.as_strategy(path_parameters={name: KNOWN[name] for name in names})))
    passes.sort(key=lambda item: item[0].method.upper() == "DELETE")
    for operation, strategy in passes:

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=base_url, timeout=15)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
    return failures


async def test_every_gate_route_conforms_to_its_openapi_document(system: System) -> None:
    await create_application(system.client, "shop")
    saved = await system.client.post("/pipelines", json=exported_pipeline("shop"))
    assert saved.status == 200
    document = await (await system.client.get("/openapi.json")).json()
    base_url = str(system.client.make_url("")).rstrip("/")

    failures = await asyncio.to_thread(fuzz, document, base_url)

    assert not failures, "\n\n".join(failures)
