"""The one name for a JSON object as Python holds it: :data:`Json`.

Spinnaker's documents (pipelines, stage contexts, account details, manifests) are open JSON;
every module that passes them around without a model of its own calls them ``Json``, and takes
the name from here rather than defining it again.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
"""A JSON object: string keys, any JSON values (nested objects are ``Json`` again)."""
