"""How Echo forwards Gennaker's events to other systems: the configuration of each sink.

A sink is a durable queue of its own (``gennaker.echo-sink-<name>.events``) bound to
``gennaker.events`` with the sink's type ``patterns``, and a consumer that delivers what arrives in
batches to one outside system. Three kinds, told apart by ``type``:

* ``elasticsearch``: ``POST {url}/_bulk`` (NDJSON), one document per CloudEvent, its ``id`` as
  ``_id`` in the daily index ``index`` (``strftime`` of the event's time, UTC);
* ``splunk``: ``POST {url}/services/collector/event`` (HTTP Event Collector) with
  ``Authorization: Splunk <token>``, optionally waiting for indexer acknowledgement;
* ``rest``: ``POST {url}`` of CloudEvents, one per request (structured mode,
  ``application/cloudevents+json``) or a JSON array per batch (``application/cloudevents-batch+json``).

These are settings values (``[[sinks]]`` tables in the settings file), not bus messages.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SINK_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


class SinkBase(BaseModel):
    """What every sink has: where, which events, and how it batches and retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SINK_NAME, description="Names the sink's queue: gennaker.echo-sink-<name>.events")
    url: str = Field(min_length=1, description="Base URL of the outside system")
    patterns: tuple[str, ...] = Field(("#",), min_length=1, description="Event type patterns (AMQP topic syntax)")
    batch_size: int = Field(500, ge=1, le=10_000, description="Events sent in one request at most")
    batch_seconds: float = Field(1.0, gt=0, description="Longest an event waits for its batch to fill")
    max_queue: int | None = Field(100_000, ge=1, description="Events the sink's queue holds before it refuses more")
    timeout: float = Field(10.0, gt=0, description="Seconds one request may take")
    retry_base_delay: float = Field(0.2, gt=0, description="Seconds before the first retry of a failed request")
    retry_max_delay: float = Field(30.0, gt=0, description="Longest wait between retries while the system is down")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers sent with every request")


class ElasticsearchSink(SinkBase):
    """Elasticsearch's bulk API; ``create`` never overwrites, so a resent event is not indexed twice."""

    type: Literal["elasticsearch"] = "elasticsearch"
    index: str = Field("gennaker-events-%Y.%m.%d", min_length=1, description="Index name; strftime of the event time")
    op_type: Literal["create", "index"] = "create"
    username: str | None = None
    password: str | None = None
    api_key: str | None = Field(None, description="Sent as Authorization: ApiKey <api_key>")


class SplunkSink(SinkBase):
    """Splunk's HTTP Event Collector; ``ack`` waits for indexer acknowledgement before a batch counts."""

    type: Literal["splunk"] = "splunk"
    token: str = Field(min_length=1, description="HEC token, sent as Authorization: Splunk <token>")
    index: str | None = None
    sourcetype: str = "gennaker:cloudevent"
    source: str | None = Field(None, description="Splunk source; default: the CloudEvent's source")
    ack: bool = Field(False, description="Poll /services/collector/ack until the batch is indexed")
    ack_timeout: float = Field(60.0, gt=0, description="Seconds to wait for an acknowledgement before resending")
    ack_interval: float = Field(0.2, gt=0, description="Seconds between acknowledgement polls")


class RestSink(SinkBase):
    """Any HTTP endpoint that takes CloudEvents."""

    type: Literal["rest"] = "rest"
    mode: Literal["structured", "batch"] = "batch"


SinkConfig = Annotated[ElasticsearchSink | SplunkSink | RestSink, Field(discriminator="type")]
"""One configured sink; ``type`` says which."""

__all__ = ["ElasticsearchSink", "RestSink", "SinkBase", "SinkConfig", "SplunkSink"]
