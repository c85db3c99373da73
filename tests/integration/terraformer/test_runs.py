"""Terraformer runs real Terraform on a configuration cloned from a git repository: a plan, an
apply of its planfile, a show of the state, a plan for destroy applied too; sensitive outputs never leave it; a profile
needs WRITE; the run's inputs (var-files, overrides, backend config, workspace) reach Terraform.
A stale planfile refused, output and destroy: tests/e2e/test_terraform_pipeline.py."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from schemas.authority import Authority
from schemas.terraformer import TerraformerTaskCompleted
from tests.artifact_server import ArtifactServer
from tests.git_http_server import GitHttpServer
from tests.integration.terraformer.rig import GIT_PASSWORD, GIT_USER, TerraformerRig, embedded, terraformer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TerraformerRig]:
    async with terraformer(tmp_path_factory.mktemp("terraformer")) as started:
        yield started


async def answer(rig: TerraformerRig, action: str, **extra: object) -> TerraformerTaskCompleted:
    found = await rig.run(rig.context(action, **extra))
    assert isinstance(found, TerraformerTaskCompleted)
    return found


async def test_plan_apply_the_planfile_then_plan_and_apply_a_destroy(rig: TerraformerRig) -> None:
    tfvars = {"artifact": embedded("names.tfvars", 'name = "from-var-file"\n')}
    first = await answer(rig, "plan", artifacts=[tfvars])
    assert first.status == "SUCCEEDED", first.error
    summary = first.outputs["planSummary"]
    assert (summary["add"], summary["change"], summary["destroy"]) == (1, 0, 0)
    assert summary["text"].startswith("Plan: 1 to add, 0 to change, 0 to destroy.")
    [planfile] = first.outputs["artifacts"]
    assert (planfile["type"], planfile["name"]) == ("embedded/base64", "planfile")
    assert base64.b64decode(planfile["reference"])[:2] == b"PK"  # Terraform's plan is a zip

    applied = await answer(rig, "apply", artifacts=[{"artifact": planfile}])
    assert applied.status == "SUCCEEDED", applied.error
    assert applied.outputs["bucket"] == "bucket-from-var-file"
    assert applied.outputs["sensitiveOutputs"] == ["secret"] and "secret" not in applied.outputs
    assert "s3cr3t" not in json.dumps(applied.model_dump(mode="json"))
    assert (rig.state / "ws" / "w1" / "terraform.tfstate").is_file()  # the backend config and workspace held

    shown = await answer(rig, "show")
    assert shown.status == "SUCCEEDED", shown.error
    assert (shown.outputs["resources"], shown.outputs["bucket"]) == (["terraform_data.thing"], "bucket-from-var-file")
    assert "s3cr3t" not in json.dumps(shown.model_dump(mode="json"))

    teardown = await answer(rig, "plan", planForDestroy=True)
    assert teardown.status == "SUCCEEDED", teardown.error
    assert (teardown.outputs["planSummary"]["add"], teardown.outputs["planSummary"]["destroy"]) == (0, 1)
    destroyed = await answer(rig, "apply", artifacts=[{"artifact": teardown.outputs["artifacts"][0]}])
    assert destroyed.status == "SUCCEEDED", destroyed.error
    assert json.loads((rig.state / "ws" / "w1" / "terraform.tfstate").read_text())["resources"] == []


async def test_a_var_file_over_http_follows_the_outbound_rules(rig: TerraformerRig) -> None:
    async def tfvars(request: web.Request) -> web.Response:
        return web.Response(text='name = "from-http"\n')

    app = web.Application()
    app.router.add_get("/prod.tfvars", tfvars)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        allowed = {"type": "http/file", "reference": str(server.make_url("/prod.tfvars"))}
        planned = await answer(rig, "plan", artifacts=[allowed], workspace="http")
        assert planned.status == "SUCCEEDED", planned.error
        assert any("+ input" in line and '"from-http"' in line for line in planned.context["terraformLog"])
        internal = {"type": "http/file", "reference": f"http://[::1]:{server.port}/prod.tfvars"}
        refused = await answer(rig, "plan", artifacts=[internal], workspace="http")
        assert refused.status == "TERMINAL" and refused.error is not None
        assert refused.error.startswith("artifacts[1]: outbound call refused")
    finally:
        await server.close()


async def test_bad_input_is_refused_naming_the_field(rig: TerraformerRig) -> None:
    bad_action = await answer(rig, "refresh")
    assert bad_action.status == "TERMINAL" and bad_action.error is not None
    assert bad_action.error.startswith("action:")
    escaping = await answer(rig, "plan", dir="../..")
    assert escaping.error is not None and escaping.error.startswith("dir:")
    elsewhere = await rig.run(
        {**rig.context("plan"), "artifacts": [{"type": "git/repo", "reference": "/etc", "version": "main"}]}
    )
    assert isinstance(elsewhere, TerraformerTaskCompleted) and elsewhere.error is not None
    assert "local_git_roots" in elsewhere.error and elsewhere.error.startswith("artifacts[0].reference:")


async def test_a_profile_needs_write_and_an_application_execute(rig: TerraformerRig) -> None:
    missing = await answer(rig, "init", profile="nope")
    assert missing.status == "TERMINAL" and missing.error is not None and "no profile named 'nope'" in missing.error
    stranger = Authority(user="mallory", roles=("nobody",))
    found = await rig.run(rig.context("init", profile="prod"), authority=stranger)
    assert isinstance(found, TerraformerTaskCompleted) and found.error is not None
    assert "lacks WRITE permission on profile 'prod'" in found.error


async def test_a_profile_gives_terraform_its_variables_and_they_are_not_shown(
    rig: TerraformerRig, tmp_path: Path
) -> None:
    config = 'resource "terraform_data" "x" {\n  provisioner "local-exec" { command = "echo token=$API_TOKEN" }\n}\n'
    context = {
        "action": "apply",
        "artifacts": [{"artifact": {"type": "inline", "name": "main.tf", "reference": config}}],
        "profile": "prod",
    }
    ops = Authority(user="olga", roles=("ops",))
    applied = await rig.run(context, authority=ops)
    assert isinstance(applied, TerraformerTaskCompleted) and applied.status == "SUCCEEDED", applied.error
    log = "\n".join(applied.context["terraformLog"])
    assert "token=****" in log and "hunter2-token" not in log


async def test_var_files_come_from_github_and_gitlab_with_the_artifact_accounts_the_caller_may_read(
    rig: TerraformerRig,
) -> None:
    async with ArtifactServer(github_token="gh-secret", gitlab_token="gl-secret", basic=("u", "p")) as files:
        files.github[("release", "prod.tfvars")] = b'name = "from-github"\n'
        files.gitlab[("master", "prod.tfvars")] = b'name = "from-gitlab"\n'
        github = {
            "type": "github/file",
            "reference": f"{files.url}/repos/acme/infra/contents/prod.tfvars",
            "version": "release",
            "artifactAccount": "github-acme",
        }
        planned = await answer(rig, "plan", artifacts=[github], workspace="forges")
        assert planned.status == "SUCCEEDED", planned.error
        assert any('"from-github"' in line for line in planned.context["terraformLog"])
        assert files.requests[-1]["headers"]["Authorization"] == "token gh-secret"
        assert files.requests[-1]["headers"]["Idempotency-Key"].startswith("artifact-")

        gitlab = {
            "type": "gitlab/file",
            "reference": f"{files.url}/api/v4/projects/3/repository/files/prod.tfvars/raw",
            "artifactAccount": "gitlab-ops",
        }
        stranger = Authority(user="mallory", roles=("nobody",))
        refused = await rig.run(rig.context("plan", artifacts=[gitlab], workspace="forges"), authority=stranger)
        assert isinstance(refused, TerraformerTaskCompleted) and refused.error is not None
        assert refused.error == (
            "artifacts[1]: access denied: user 'mallory' lacks READ permission on artifact account 'gitlab-ops'"
        )
        assert len(files.requests) == 1, "nothing was fetched for the refused run"
        ops = Authority(user="olga", roles=("ops",))
        fetched = await rig.run(rig.context("plan", artifacts=[gitlab], workspace="forges"), authority=ops)
        assert isinstance(fetched, TerraformerTaskCompleted) and fetched.status == "SUCCEEDED", fetched.error
        assert files.requests[-1]["headers"]["PRIVATE-TOKEN"] == "gl-secret"


async def test_a_private_git_repository_is_cloned_with_its_gitrepo_account_and_only_for_who_may_read_it(
    rig: TerraformerRig,
) -> None:
    async with GitHttpServer(rig.repository.parent, GIT_USER, GIT_PASSWORD) as server:
        url = f"{server.url}/{rig.repository.name}"

        def private(account: str | None) -> dict[str, object]:
            repo = {"type": "git/repo", "reference": url, "version": "main", "metadata": {"subPath": "infra"}}
            return {**rig.context("plan", workspace="private"), "artifacts": [{"artifact": repo | _named(account)}]}

        stranger = Authority(user="mallory", roles=("nobody",))
        refused = await rig.run(private("infra-git"), authority=stranger)
        assert isinstance(refused, TerraformerTaskCompleted)
        assert (
            refused.error
            == "artifacts[0]: access denied: user 'mallory' lacks READ permission on artifact account 'infra-git'"
        )
        assert server.requests == [], "nothing was cloned for the refused run"

        anonymous = await rig.run(private(None))
        assert isinstance(anonymous, TerraformerTaskCompleted) and anonymous.status == "TERMINAL"
        assert anonymous.error is not None and "git clone failed" in anonymous.error

        forge = await rig.run(private("github-acme"))
        assert isinstance(forge, TerraformerTaskCompleted) and forge.error is not None
        assert "artifact account 'github-acme' is a github account, not a gitrepo one" in forge.error
        over_ssh = rig.context("plan", workspace="private")
        over_ssh["artifacts"] = [{"artifact": {"type": "git/repo", "reference": "git@127.0.0.1:config.git"}}]
        keyless = await rig.run(over_ssh)
        assert isinstance(keyless, TerraformerTaskCompleted) and keyless.error is not None
        assert "an ssh git URL needs an artifactAccount of type gitrepo with sshPrivateKeyFilePath" in keyless.error

        stale = await rig.run(private("stale-git"))
        assert isinstance(stale, TerraformerTaskCompleted) and stale.error is not None
        assert "git clone with artifact account 'stale-git' failed" in stale.error, stale.error
        assert "an-old-pw-9f3" not in stale.error and "Authentication failed" in stale.error

        ops = Authority(user="olga", roles=("ops",))
        planned = await rig.run(private("infra-git"), authority=ops)
        assert isinstance(planned, TerraformerTaskCompleted) and planned.status == "SUCCEEDED", planned.error
        assert any(request["ok"] and request["user"] == GIT_USER for request in server.requests)
        by_token = await rig.run(private("infra-git-token"))
        assert isinstance(by_token, TerraformerTaskCompleted) and by_token.status == "SUCCEEDED", by_token.error
        shown = json.dumps([refused.model_dump(), stale.model_dump(), planned.model_dump()])
        assert GIT_PASSWORD not in shown and "an-old-pw-9f3" not in shown
        assert not [path for path in rig.root.rglob("config") if GIT_PASSWORD in path.read_text(errors="replace")]


def _named(account: str | None) -> dict[str, object]:
    return {"artifactAccount": account} if account else {}
