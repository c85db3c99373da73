"""Bringing pydantic's JSON Schema down to OpenAPI 3.0, which the bundled Swagger UI renders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gateway.openapi import to_openapi_30


class Inner(BaseModel):
    size: int


class Outer(BaseModel):
    label: str | None = None
    inner: Inner | None = Field(default=None, description="the inner part")
    kind: Literal["only"] = "only"
    ratio: float = Field(gt=0, examples=[0.5, 0.7])
    examples: list[str] = []


def test_optional_becomes_nullable_and_a_nullable_reference_keeps_its_ref() -> None:
    properties = to_openapi_30(Outer.model_json_schema())["properties"]

    assert properties["label"]["type"] == "string"
    assert properties["label"]["nullable"] is True
    assert "anyOf" not in properties["label"]
    assert properties["inner"]["allOf"] == [{"$ref": "#/$defs/Inner"}]
    assert properties["inner"]["nullable"] is True
    assert properties["inner"]["description"] == "the inner part"


def test_const_examples_and_exclusive_bounds_use_3_0_keywords() -> None:
    properties = to_openapi_30(Outer.model_json_schema())["properties"]

    assert properties["kind"]["enum"] == ["only"]
    assert "const" not in properties["kind"]
    assert properties["ratio"]["example"] == 0.5
    assert "examples" not in properties["ratio"]
    assert (properties["ratio"]["minimum"], properties["ratio"]["exclusiveMinimum"]) == (0, True)


def test_a_property_named_like_a_keyword_is_left_alone() -> None:
    properties = to_openapi_30(Outer.model_json_schema())["properties"]

    assert properties["examples"]["type"] == "array"


def test_ref_with_siblings_is_wrapped_in_all_of() -> None:
    schema = {"$ref": "#/components/schemas/Inner", "description": "why"}
    assert to_openapi_30(schema) == {"allOf": [{"$ref": "#/components/schemas/Inner"}], "description": "why"}
