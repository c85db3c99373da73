"""Reading a settings file (TOML, YAML or JSON) into setting names and values, without pydantic.

Both the full settings (:mod:`gennaker.settings`) and the gateway client's few
(:mod:`gennaker.client_settings`) start from it, so a file is read and refused alike by both.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

SETTINGS_FILE_ENV = "GENNAKER_SETTINGS_FILE"


class SettingsError(ValueError):
    """The settings file or environment holds something unusable; the message says what and where."""


def read_settings_file(path: Path) -> dict[str, Any]:
    """Parse a TOML, YAML or JSON settings file into a flat mapping of field names to values."""
    if not path.is_file():
        raise SettingsError(f"settings file {path} does not exist; fix --settings or {SETTINGS_FILE_ENV}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: object = tomllib.loads(path.read_text())
        elif suffix == ".json":
            data = json.loads(path.read_text())
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise SettingsError(
                    f"settings file {path} is YAML but PyYAML is not installed; `pip install pyyaml` or use TOML"
                ) from None
            data = yaml.safe_load(path.read_text()) or {}
        else:
            raise SettingsError(f"settings file {path} must end in .toml, .yaml, .yml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, ValueError) as error:
        if isinstance(error, SettingsError):
            raise
        raise SettingsError(f"settings file {path} is not valid {suffix.lstrip('.').upper()}: {error}") from None
    except OSError as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping of setting names to values")
    return {str(key).lower().removeprefix("gennaker_"): value for key, value in data.items()}
