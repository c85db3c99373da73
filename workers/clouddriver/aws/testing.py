"""A moto server for tests: a real HTTP endpoint speaking the AWS API, started as a subprocess.

The suites have no AWS account, so they point an account's ``aws.endpointUrl`` at this server and
the provider runs over the wire exactly as it would against AWS (request signing, XML answers,
error codes). ``moto_server`` comes with the dev dependency ``moto[server]``; it is looked for next
to the running interpreter, then on ``PATH``.

Example::

    with MotoServer() as moto:
        settings = moto.settings()          # AwsAccountSettings(endpoint_url=..., keys...)
        moto.reset()                        # forget every resource between tests
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from gennaker.host import free_port
from schemas.clouddriver import AwsAccountSettings


def _executable() -> str:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        raise RuntimeError("moto_server is not installed; it comes with the dev dependency moto[server]")
    return found


class MotoServer:
    """One ``moto_server`` subprocess on a free local port, stopped on :meth:`stop` (or leaving ``with``)."""

    def __init__(self, *, start_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        """Start the server and return once it answers HTTP."""
        self._process = subprocess.Popen(
            [_executable(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self._start_timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._process.returncode} before answering")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return self
            except OSError:
                if time.monotonic() >= deadline:
                    self.stop()
                    raise RuntimeError(
                        f"moto_server did not answer on {self.url} within {self._start_timeout:g} s"
                    ) from None
                time.sleep(0.1)

    def reset(self) -> None:
        """Forget every resource (moto's ``/moto-api/reset``)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def settings(self, **overrides: object) -> AwsAccountSettings:
        """Account settings that reach this server (moto accepts any keys)."""
        values: dict[str, object] = {
            "endpoint_url": self.url,
            "access_key_id": "testing",
            "secret_access_key": SecretStr("testing"),
        }
        values.update(overrides)
        return AwsAccountSettings.model_validate(values)

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
