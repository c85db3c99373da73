"""The local provider's fence, rule by rule: what an account may run and what its processes inherit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from workers.clouddriver.local.fence import PYTHON, Fence, inherited
from workers.clouddriver.provider import Account, OperationFailed

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
HELLO = EXAMPLES / "hello" / "app.py"


def fence(**local: object) -> Fence:
    return Fence.of(Account(name="apps", cloud_provider="local", settings={"local": local}))


FENCED = fence(artifactDirs=[str(EXAMPLES)])


def test_an_account_without_local_settings_runs_nothing() -> None:
    closed = Fence.of(Account(name="apps", cloud_provider="local"))
    with pytest.raises(OperationFailed, match="runs nothing until its local settings say what may run"):
        closed.command([PYTHON, str(HELLO)], working_dir=None)


def test_python_with_a_script_inside_the_artifacts_runs_resolved() -> None:
    assert FENCED.command([PYTHON, str(HELLO), "--port", "{port}"], working_dir=None) == [
        PYTHON,
        str(HELLO.resolve()),
        "--port",
        "{port}",
    ]
    # the interpreter named by its path is the same interpreter
    assert FENCED.command([sys.executable, str(HELLO)], working_dir=None)[0] == PYTHON


def test_a_relative_script_is_resolved_against_the_working_directory() -> None:
    argv = FENCED.command([PYTHON, "app.py"], working_dir=str(EXAMPLES / "hello"))
    assert argv == [PYTHON, str(HELLO.resolve())]


@pytest.mark.parametrize(
    "argv",
    [
        [PYTHON, "-c", "import os; os.system('id')"],
        [PYTHON, "-m", "http.server"],
        [PYTHON],
        [PYTHON, str(ROOT / "gennaker" / "cli.py")],
        [PYTHON, str(EXAMPLES / ".." / "gennaker" / "cli.py")],
        ["/bin/sh", "-c", "id"],
        ["sh", "-c", "id"],
        ["{python}x"],
    ],
    ids=["python -c", "python -m", "bare python", "script outside", "dot-dot escape", "/bin/sh", "sh on PATH", "odd"],
)
def test_anything_else_is_refused_naming_the_fence(argv: list[str]) -> None:
    with pytest.raises(OperationFailed, match="account 'apps' may not run"):
        FENCED.command(argv, working_dir=None)


def test_a_symlink_inside_the_artifacts_pointing_outside_is_refused(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "sh").symlink_to("/bin/sh")
    with pytest.raises(OperationFailed, match="may not run"):
        fence(artifactDirs=[str(artifacts)]).command([str(artifacts / "sh"), "-c", "id"], working_dir=None)


def test_a_program_inside_the_artifacts_or_listed_runs(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    program = artifacts / "serve"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert fence(artifactDirs=[str(artifacts)]).command([str(program), "8080"], working_dir=None) == [
        str(program.resolve()),
        "8080",
    ]
    allowed = fence(executables=["/bin/sh"])
    assert allowed.command(["/bin/sh", "-c", "id"], working_dir=None)[0] == str(Path("/bin/sh").resolve())


def test_the_working_directory_must_be_inside_the_artifacts() -> None:
    with pytest.raises(OperationFailed, match="in workingDir '/tmp'"):
        FENCED.command([PYTHON, str(HELLO)], working_dir="/tmp")


def test_unrestricted_runs_anything() -> None:
    assert fence(unrestricted=True).command(["/bin/sh", "-c", "id"], working_dir="/tmp") == ["/bin/sh", "-c", "id"]


@pytest.mark.parametrize(
    "name", ["LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONSTARTUP", "NODE_OPTIONS", "BASH_ENV"]
)
def test_loader_and_interpreter_hooks_are_refused_on_a_fenced_account(name: str) -> None:
    with pytest.raises(OperationFailed, match="does not let 'env' set"):
        FENCED.check_env({name: "/tmp/evil"})
    fence(unrestricted=True).check_env({name: "/tmp/evil"})


def test_no_account_lets_env_set_gennakers_own_variables() -> None:
    for account in (FENCED, fence(unrestricted=True)):
        with pytest.raises(OperationFailed, match="Gennaker's own variables"):
            account.check_env({"GENNAKER_TOKEN": "x"})
        with pytest.raises(OperationFailed, match="Gennaker's own variables"):
            account.check_env({"CLOUDDRIVER_LOCAL_OWNER": "x"})


def test_a_process_inherits_only_the_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_TOKEN", "gnk_secret")
    monkeypatch.setenv("GENNAKER_AMQP_URL", "amqp://user:pw@host/")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("LANG", "C.UTF-8")
    environment = FENCED.environment({"HELLO_VERSION": "v1"})
    assert environment["HELLO_VERSION"] == "v1" and environment["LANG"] == "C.UTF-8"
    assert environment["PATH"] == os.environ["PATH"]
    assert not [name for name in environment if name.startswith("GENNAKER_") or "SECRET" in name]
    assert inherited(["PATH", "GENNAKER_TOKEN"]) == {"PATH": os.environ["PATH"]}
