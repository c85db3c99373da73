"""The UI in a real browser: Debian's Chromium driven by playwright-core, against the whole system.

The scenarios are in ``deck/e2e/scenarios.mjs`` (they build on each other: the application the
first creates is the one the others use). The module's fixture starts the system
(:mod:`tests.deck.system`), runs them all once in one Chromium, and each test below reports one
scenario's outcome, with the browser's error and a screenshot of the failing page under
``test-artifacts/deck/``. Screenshots of the main pages are kept there too (``docs/deck/`` holds the
ones the README shows).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import pytest_asyncio

from tests.deck.system import HELLO, start_system
from tests.deck.tools import DECK, ROOT, chromium, node, packages
from tests.integration.clouddriver.conftest import stop_everything

ARTIFACTS = ROOT / "test-artifacts" / "deck"
SCENARIOS = [
    "sign_in_and_create_application",
    "save_pipeline_with_errors_shown_at_the_field",
    "run_with_parameters_and_watch_stages_turn_live",
    "approve_a_manual_judgment",
    "cancel_another_run_with_a_reason",
    "pause_resume_and_stop_a_judgment",
    "toggle_a_trigger_and_filter_executions",
    "see_the_reason_a_stage_failed",
    "see_a_canary_report",
    "resize_a_server_group",
    "a_read_only_user_sees_no_action_buttons",
    "names_and_contexts_render_as_text",
    "a_lost_event_stream_reconnects_with_last_event_id",
    "disable_enable_and_destroy_the_server_group",
    "edit_stages_in_the_form_skip_a_wait_and_restart_a_stage",
    "scale_and_destroy_a_kubernetes_server_group",
    "see_the_artifacts_a_webhook_brought_and_a_deploy_made",
    "resize_disable_and_destroy_an_aws_server_group",
    "a_locked_pipeline_refuses_a_ui_save",
    "see_what_dinghy_applied_from_git",
    "follow_a_jenkins_build_and_its_bakes",
    "judge_a_terraform_plan_and_see_its_outputs",
    "edit_permissions_and_notifications_then_delete_an_application",
]
BROWSER_TIMEOUT = 420
pytestmark = pytest.mark.timeout(BROWSER_TIMEOUT + 60)  # the first test waits for every scenario


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def report(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """Every scenario's outcome: ``{name: {"ok", "ms", "error"}}``."""
    executable, _ = node(), packages()
    os.environ.setdefault("CHROMIUM", chromium())
    work = tmp_path_factory.mktemp("deck")
    async with AsyncExitStack() as stack:
        system = await start_system(stack, work / "data")
        stack.push_async_callback(lambda: _stop_processes(system.db))
        report_file = work / "report.json"
        config = {
            "url": system.url,
            "tokens": system.tokens,
            "artifacts": str(ARTIFACTS),
            "report": str(report_file),
            "hello": HELLO,
            "dinghyPushes": system.dinghy_pushes,
        }
        process = await asyncio.create_subprocess_exec(
            executable,
            str(DECK / "e2e" / "run.mjs"),
            env={**os.environ, "DECK_E2E": json.dumps(config)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), BROWSER_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"the browser scenarios took more than {BROWSER_TIMEOUT} s") from None
        text = output.decode(errors="replace")
        assert report_file.exists(), f"the browser scenarios did not run (exit status {process.returncode}):\n{text}"
        yield {"scenarios": json.loads(report_file.read_text()), "output": text}


async def _stop_processes(db: Any) -> None:
    assert await stop_everything(db) == [], "the UI's tests left local server groups running"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(report: dict[str, Any], scenario: str) -> None:
    outcome = report["scenarios"].get(scenario)
    assert outcome is not None, f"{scenario} did not run; the browser said:\n{report['output']}"
    assert outcome["ok"], f"{scenario} failed (screenshot: {ARTIFACTS / f'failed-{scenario}.png'}):\n{outcome['error']}"


def test_every_scenario_is_reported(report: dict[str, Any]) -> None:
    assert sorted(report["scenarios"]) == sorted(SCENARIOS)


def test_screenshots_of_the_main_pages_are_kept(report: dict[str, Any]) -> None:
    for page in (
        "login",
        "applications",
        "pipeline-history",
        "execution",
        "canary",
        "clusters",
        "clusters-kubernetes",
        "execution-artifacts",
        "manifest-status",
        "bake",
        "terraform-judgment",
        "dinghy-history",
    ):
        shot = ARTIFACTS / f"{page}.png"
        assert shot.is_file() and shot.stat().st_size > 5_000, f"no screenshot of {page} at {shot}"
