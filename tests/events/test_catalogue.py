"""The AsyncAPI catalogue in docs/ is what the payload models and the topology generate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from rescueops.events import catalogue, topology
from tests.events import probe

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_the_committed_catalogue_is_current() -> None:
    generated = catalogue.render()
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "docs/asyncapi.yaml is out of date: run `rescueops events asyncapi --output docs/asyncapi.yaml` and commit it")


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [ref for key, value in node.items() for ref in ([value] if key == "$ref" else _refs(value))]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_event_type_and_queue_is_in_the_catalogue() -> None:
    document = yaml.safe_load(catalogue.render())
    models = catalogue.load_payload_models()
    assert {"equipment_transfer.dispatched", "drill.scheduled", "notification.sent"} <= set(models)
    assert probe.Probe.event_types[0] not in models  # test-only payloads are left out
    assert document["asyncapi"] == "2.6.0"
    for event_type, model in models.items():
        channel = document["channels"]["{region}." + event_type]
        assert channel["bindings"]["amqp"]["exchange"] == {"name": "rescueops.events", "type": "topic", "durable": True,
                                                           "autoDelete": False, "vhost": "/"}
        message = document["components"]["messages"][event_type]
        one, several = message["payload"]["oneOf"]  # an event's envelope, or an array of them (bus.by_routing_key)
        assert one == several["items"] == {"$ref": f"#/components/schemas/{event_type}.envelope"} and several["type"] == "array"
        envelope, specific = document["components"]["schemas"][f"{event_type}.envelope"]["allOf"]
        assert envelope == {"$ref": "#/components/schemas/EventOut"}
        assert specific["properties"]["type"] == {"const": event_type} and specific["properties"]["version"] == {"const": model.version}
    assert document["channels"]["{region}.equipment_transfer.dispatched"]["x-rescueops-queues"]["coordination"] == (
        "rescueops.<every hub>.coordination")
    for spec in topology.QUEUES:
        queue = document["channels"][spec.name]
        assert queue["bindings"]["amqp"]["queue"]["durable"] is True
        assert queue["x-rescueops-arguments"]["x-queue-type"] == "quorum"
        assert queue["x-rescueops-arguments"]["x-delivery-limit"] == topology.DELIVERY_LIMIT
        assert [b["routingKey"] for b in queue["x-rescueops-bindings"]] == list(spec.bindings)
    assert all(topology.dead_letter_queue(region) in document["channels"] for region in topology.REGIONS)
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        section, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in document["components"][section], f"dangling {ref}"
    assert set(schemas["EventOut"]["required"]) >= {"event_id", "type", "version", "occurred_at", "source_region", "payload"}


def test_the_command_writes_the_catalogue(tmp_path) -> None:
    target = tmp_path / "asyncapi.yaml"
    subprocess.run([sys.executable, "-m", "rescueops", "events", "asyncapi", "--output", str(target)], check=True,
                   capture_output=True, timeout=60)
    assert target.read_text(encoding="utf-8") == catalogue.render()
