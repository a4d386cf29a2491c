from __future__ import annotations

import json
import logging

import sentry_sdk

from rescueops.observability import JsonFormatter, _before_send, init_sentry, request_id_var, scrub
from rescueops.settings import Settings


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("rescueops.test", logging.INFO, __file__, 1, "GET %s", ("/orgs",), None)
    record.status = 200
    token = request_id_var.set("abc123")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "GET /orgs" and line["request_id"] == "abc123" and line["status"] == 200


def test_personal_data_is_scrubbed() -> None:
    event = {
        "message": "队员 152502199001011234 电话 13912345678 报名",
        "request": {"headers": {"Authorization": "Bearer ro_x", "User-Agent": "x"}, "cookies": {"s": "1"}, "data": {"password": "p"}},
        "user": {"id": 7, "ip_address": "10.1.2.3", "username": "bater"},
        "extra": {"id_number": "152502199001011234", "note": "ok"},
    }
    cleaned = _before_send(event, {})
    assert cleaned["message"] == "队员 [id-number] 电话 [phone] 报名"
    assert cleaned["request"] == {"headers": {"User-Agent": "x"}}
    assert cleaned["user"] == {"id": 7}
    assert cleaned["extra"] == {"id_number": "[scrubbed]", "note": "ok"}
    assert scrub(["13912345678"]) == ["[phone]"]


def test_sentry_is_off_without_a_dsn_and_on_with_one() -> None:
    assert init_sentry(Settings(sentry_dsn=None)) is False
    assert not sentry_sdk.get_client().is_active()
    try:
        # A DSN pointing at a closed local port: initialised, nothing can leave the machine.
        assert init_sentry(Settings(sentry_dsn="http://public@127.0.0.1:9/1")) is True
        assert sentry_sdk.get_client().is_active()
        assert not sentry_sdk.get_client().options.get("send_default_pii")  # the SDK default: no personal data
    finally:
        sentry_sdk.init(dsn=None)
