"""The helper functions every evaluation gets unless the caller passes its own registry."""

from __future__ import annotations

from types import MappingProxyType

from .helpers import Helper
from .stage_functions import STAGE_FUNCTIONS
from .string_functions import STRING_FUNCTIONS

DEFAULT_HELPERS: MappingProxyType[str, Helper] = MappingProxyType({**STRING_FUNCTIONS, **STAGE_FUNCTIONS})
"""Read-only; extend with ``{**DEFAULT_HELPERS, "pipelineId": my_lookup}``."""

# Bare words Orca rewrites into helper calls (``deployedServerGroups`` → ``#deployedServerGroups()``).
ALIASES = frozenset({"deployedServerGroups"})
