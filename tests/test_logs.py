"""Structured logs: one JSON object a line, with the call id."""

import json
import logging

import pytest

from stasis_app.logs import JsonLineFormatter, call_id_var

pytestmark = pytest.mark.unit


def record(message: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord(
        "stasis_app.telephony.call", logging.INFO, __file__, 1, message, None, None
    )
    rec.__dict__.update(extra)
    return rec


def test_one_json_line_with_call_id_and_extras() -> None:
    token = call_id_var.set("1700000000.42")
    try:
        line = JsonLineFormatter().format(record("keys read", count=4))
    finally:
        call_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["event"] == "keys read"
    assert entry["call_id"] == "1700000000.42"
    assert entry["count"] == 4
    assert entry["level"] == "info"


def test_errors_carry_type_and_place_but_no_source_or_values() -> None:
    def fails(pin: str) -> None:
        raise ValueError("bad input")

    try:
        fails("1234")
    except ValueError:
        import sys

        rec = record("call failed")
        rec.exc_info = sys.exc_info()
    entry = json.loads(JsonLineFormatter().format(rec))
    assert entry["error"] == "ValueError: bad input"
    assert any("fails" in where for where in entry["where"])
    assert "1234" not in json.dumps(entry)


def test_an_extra_never_replaces_the_level_or_the_event() -> None:
    """A log line's extras sit beside its fixed fields: "caller logged in"
    once came out as level "authenticated" (its extra named "level")."""
    entry = json.loads(JsonLineFormatter().format(record("caller logged in", level="x", event="y")))
    assert (entry["level"], entry["event"]) == ("info", "caller logged in")
    assert (entry["extra_level"], entry["extra_event"]) == ("x", "y")


def test_each_line_stamped_with_its_own_time_in_utc() -> None:
    """The date and time are formatted once a second (not per line): lines of
    the same second and of the next ones still carry their own instants."""
    formatter = JsonLineFormatter()
    stamps = []
    for second, msecs in (
        (1_765_000_000, 123),
        (1_765_000_000, 987),
        (1_765_000_001, 4),
        (1_765_086_400, 500),
    ):
        rec = record("prompt")
        rec.created, rec.msecs = second + msecs / 1000, msecs
        stamps.append(json.loads(formatter.format(rec))["ts"])
    assert stamps == [
        "2025-12-06T05:46:40.123Z",
        "2025-12-06T05:46:40.987Z",
        "2025-12-06T05:46:41.004Z",
        "2025-12-07T05:46:40.500Z",
    ]
