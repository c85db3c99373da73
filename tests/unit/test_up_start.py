"""``gennaker up`` starts without the libraries only some set-ups use: each is loaded when first needed."""

from __future__ import annotations

import json
import subprocess
import sys

LOADED = """
import importlib, json, sys
from schemas.services import SERVICES
for name in SERVICES:
    importlib.import_module(f"workers.{name}.worker")
import gateway.app
print(json.dumps(sorted(sys.modules)))
"""

ON_FIRST_USE = {
    "aiobotocore": "Clouddriver's AWS clients, made when an AWS account is first used",
    "jwt": "the gateway's OIDC verification, under auth.mode oidc only",
    "helm_python": "Rosco's Helm renderer, at the first Helm bake",
}


def test_every_worker_and_the_gateway_load_none_of_the_first_use_libraries() -> None:
    done = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, timeout=120, check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert {name: why for name, why in ON_FIRST_USE.items() if name in loaded} == {}
    assert "workers.kayenta.judge" not in json.loads(done.stdout)  # the judges (NumPy) at the first judgement
