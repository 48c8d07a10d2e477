"""The webhook's contract (stasis_app/verbs/webhook.openapi.yaml) is a valid
OpenAPI document; the examples in docs/flows.md keep it; the reference
webservice refuses a request that breaks it and never sends such a reply."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from tests.support.webhook_server import CONTRACT, echo_reply, integration_reply, valid

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parent.parent / "docs" / "flows.md"


def test_the_contract_is_valid_openapi() -> None:
    validate(yaml.safe_load(CONTRACT.read_text(encoding="utf-8")))


def doc_examples() -> list[Any]:
    section = DOCS.read_text(encoding="utf-8").split("## The webhook contract", 1)[1]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]


def test_the_documented_requests_and_replies_keep_the_contract() -> None:
    examples = doc_examples()
    replies = [e for e in examples if "verbs" in e]
    requests = [e for e in examples if "round" in e]
    assert len(replies) >= 3 and requests
    assert [valid("Reply", reply) for reply in replies] == [None] * len(replies)
    assert [valid("Request", asked) for asked in requests] == [None] * len(requests)


def test_the_reference_webservices_own_replies_keep_it() -> None:
    for caller in ("48600000001", "48600000002", "48600000003", "48600000004"):
        assert valid("Reply", {"verbs": integration_reply({"caller": caller, "round": 1})}) is None
    assert valid("Reply", {"verbs": echo_reply({"round": 2})}) is None


@pytest.mark.parametrize(
    "verb",
    [
        {"verb": "say", "params": {"prompt": [{"text": "<speak>x</speak>", "public": True}]}},
        {"verb": "say", "params": {"prompt": [{"text": "x" * 601, "public": True}]}},
        {"verb": "say", "params": {"prompt": [{"text": "bez flagi"}]}},
        {"verb": "menu", "params": {"prompt": ["main_menu"]}},  # no options
        {"verb": "set", "params": {"values": {"Customer Number": "1"}}},
        {"verb": "transfer", "params": {"line": "sto"}},
        {"verb": "dial", "params": {}},
    ],
)
def test_what_the_app_refuses_breaks_the_contract(verb: dict[str, Any]) -> None:
    assert valid("Reply", {"verbs": [verb]}) is not None


def test_a_request_missing_what_the_app_sends_breaks_it() -> None:
    asked: dict[str, Any] = {
        "tenant": "izbica",
        "line": "100",
        "caller": "",
        "call": "1.2",
        "state": "s",
        "language": "pl",
    }
    assert valid("Request", {**asked, "round": 1, "event": None, "values": {}}) is not None
    full: dict[str, Any] = {**asked, "round": 1, "sent_at": 1, "event": None, "values": {}}
    assert valid("Request", full) is None
