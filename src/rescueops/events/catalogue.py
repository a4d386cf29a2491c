"""The events catalogue: an AsyncAPI 2.6 document generated from the payload models and the topology.

``rescueops events asyncapi --output docs/asyncapi.yaml`` writes it; tests/events/test_catalogue.py
fails when the committed file differs from what the code generates.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

import rescueops
from rescueops.events import topology
from rescueops.events.bus import MESSAGE_EVENTS
from rescueops.events.schemas import PAYLOADS, EventOut, EventPayload

ASYNCAPI_VERSION = "2.6.0"
_AMQP_BINDING = "0.2.0"
_KEY_REGIONS = (*topology.REGIONS, "all")


def load_payload_models() -> dict[str, type[EventPayload]]:
    """Import every domain's schemas module (each registers its payload models); the product's event types."""
    for module in pkgutil.iter_modules(rescueops.__path__):
        name = f"rescueops.{module.name}.schemas"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    # Models declared elsewhere (tests) are no part of the catalogue.
    return {t: m for t, m in sorted(PAYLOADS.items()) if m.__module__.startswith("rescueops.")}


def _summary(model: type) -> str:
    return " ".join((model.__doc__ or "").split()) or model.__name__


def _queues_reached(event_type: str) -> dict[str, str]:
    """For each purpose, which hubs' queues an event of this type reaches, in words."""
    reached = {purpose: {} for purpose in topology.PURPOSES}
    for region in _KEY_REGIONS:
        for spec in topology.consumers_for(f"{region}.{event_type}"):
            reached[spec.purpose].setdefault(region, set()).add(spec.region)
    every = set(topology.REGIONS)
    described = {}
    for purpose, by_region in reached.items():
        if not by_region:
            continue
        if all(by_region.get(region) == every for region in _KEY_REGIONS):
            described[purpose] = f"{topology.queue_name('<every hub>', purpose)}"
        elif all(by_region.get(region) == {region} for region in topology.REGIONS) and by_region.get("all") == every:
            described[purpose] = f"{topology.queue_name('{region}', purpose)} (every hub's when region is all)"
        else:
            described[purpose] = ", ".join(f"{key}: {sorted(regions)}" for key, regions in sorted(by_region.items()))
    return described


def _queue_channel(name: str, description: str, arguments: dict[str, Any], bindings: tuple[str, ...], exchange: str) -> dict[str, Any]:
    return {
        "description": description,
        "bindings": {"amqp": {
            "is": "queue",
            "queue": {"name": name, "durable": True, "exclusive": False, "autoDelete": False, "vhost": "/"},
            "bindingVersion": _AMQP_BINDING,
        }},
        "x-rescueops-arguments": arguments,
        "x-rescueops-bindings": [{"exchange": exchange, "routingKey": pattern} for pattern in bindings],
    }


def asyncapi() -> dict[str, Any]:
    models = load_payload_models()
    unique_models = list(dict.fromkeys([EventOut, *models.values()]))
    names, definitions = models_json_schema([(model, "serialization") for model in unique_models],
                                            ref_template="#/components/schemas/{model}")
    schemas = definitions.get("$defs", {})
    envelope_ref = names[(EventOut, "serialization")]["$ref"]

    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in models.items():
        schemas[f"{event_type}.envelope"] = {"allOf": [
            {"$ref": envelope_ref},
            {"type": "object", "properties": {
                "type": {"const": event_type},
                "version": {"const": model.version},
                "payload": names[(model, "serialization")],
            }},
        ]}
        envelope = {"$ref": f"#/components/schemas/{event_type}.envelope"}
        messages[event_type] = {
            "name": event_type,
            "title": event_type,
            "summary": _summary(model),
            "contentType": "application/json",
            "description": (
                f"Version {model.version}. One event's envelope, or (the relay sends the events of one routing key together) "
                f"an array of up to {MESSAGE_EVENTS} of them in outbox order, the number in the {topology.EVENTS_HEADER} "
                "header. AMQP message_id is the (first) event's id, type the event type; persistent delivery."),
            "payload": {"oneOf": [envelope, {"type": "array", "minItems": 2, "maxItems": MESSAGE_EVENTS, "items": dict(envelope)}]},
            "bindings": {"amqp": {"messageType": event_type, "bindingVersion": _AMQP_BINDING}},
        }
        channels["{region}." + event_type] = {
            "description": _summary(model),
            "parameters": {"region": {"$ref": "#/components/parameters/region"}},
            "subscribe": {
                "operationId": "on_" + event_type.replace(".", "_"),
                "summary": f"RescueOps publishes {event_type} to the {topology.EXCHANGE} exchange.",
                "message": {"$ref": f"#/components/messages/{event_type}"},
                "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "bindingVersion": _AMQP_BINDING}},
            },
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": topology.EXCHANGE, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": _AMQP_BINDING,
            }},
            "x-rescueops-queues": _queues_reached(event_type),
        }
    for spec in topology.QUEUES:
        channels[spec.name] = _queue_channel(
            spec.name,
            f"The {spec.region} hub's {spec.purpose} queue (quorum). After {topology.DELIVERY_LIMIT} failed deliveries, or at "
            f"once for a malformed or unknown message, it goes to {topology.DEAD_LETTER_EXCHANGE} under {spec.consumer}.",
            topology.queue_arguments(spec), spec.bindings, topology.EXCHANGE)
    for region in topology.REGIONS:
        name = topology.dead_letter_queue(region)
        channels[name] = _queue_channel(
            name, f"What the {region} hub's consumers gave up on, with the reason in {topology.REASON_HEADER} (or x-death).",
            {"x-queue-type": "quorum"}, (f"{region}.*",), topology.DEAD_LETTER_EXCHANGE)

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:rescueops:events",
        "info": {
            "title": "RescueOps events",
            "version": "1.0.0",
            "description": (
                "Domain events of RescueOps (Red Cross emergency rescue teams, Inner Mongolia), written to the outbox in "
                "the transaction of each change and relayed to RabbitMQ. Generated by `rescueops events asyncapi` from "
                "the payload models and rescueops.events.topology; see docs/events.md. Delivery is at least once; "
                "consumers are idempotent on the event id."
            ),
        },
        "servers": {"rabbitmq": {
            "url": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
            "description": "RESCUEOPS_AMQP_URL; without one, the same events go through the in-process bus.",
        }},
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {
            "parameters": {"region": {
                "description": "The hub region of the place the event is about, or all when no single hub answers for it.",
                "schema": {"type": "string", "enum": list(_KEY_REGIONS)},
            }},
            "messages": messages,
            "schemas": dict(sorted(schemas.items())),
        },
    }


def render() -> str:
    return yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=120)
