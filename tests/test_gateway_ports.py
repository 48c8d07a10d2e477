"""The gateway's Protocols (stasis_app/telephony/ports.py) list exactly what
``Call`` and the consultant queue ask of the gateway, the real gateway and the
unit tests' fake keep to them, and mypy checks the tests as it checks the app."""

import ast
import tomllib
from pathlib import Path

import pytest

from stasis_app.telephony.gateway import AriGateway
from stasis_app.telephony.ports import CallGateway, QueueGateway
from tests.support.fake_call import FakeGateway

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "stasis_app"


def conforming(fake: FakeGateway, real: AriGateway) -> list[CallGateway]:
    """Checked by mypy, not run: the fake stands where the real gateway
    stands for a call, and the real one for the queue too."""
    for_the_queue: QueueGateway = real
    return [fake, real, for_the_queue]


def members(protocol: type) -> set[str]:
    """The methods and attributes a Protocol declares itself."""
    return {name for name in vars(protocol) if not name.startswith("_")}


def asked_of_gateway(path: Path, *owners: str) -> set[str]:
    """What ``path`` asks of a gateway reached as ``<owner>.gateway`` (or a
    local named ``gateway``): the attribute after it."""
    asked = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        target = node.value
        if isinstance(target, ast.Name) and target.id == "gateway" and "" in owners:
            asked.add(node.attr)
        if isinstance(target, ast.Attribute) and target.attr == "gateway":
            owner = target.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if name in owners:
                asked.add(node.attr)
    return asked


def test_call_gateway_lists_what_a_call_asks_of_the_gateway() -> None:
    asked = asked_of_gateway(APP / "telephony" / "call.py", "self")
    for path in APP.rglob("*.py"):  # flows and verbs that reach call.gateway
        asked |= asked_of_gateway(path, "call")
    assert members(CallGateway) == asked


def test_queue_gateway_adds_what_the_queue_asks_of_the_gateway() -> None:
    asked: set[str] = set()
    for path in (APP / "queue").glob("*.py"):
        asked |= asked_of_gateway(path, "self", "queue", "")
    assert asked <= members(QueueGateway) | members(CallGateway)
    assert members(QueueGateway) <= asked  # nothing listed that the queue does not use


@pytest.mark.parametrize("gateway", [AriGateway, FakeGateway])
def test_the_real_gateway_and_the_fake_have_every_call_method(gateway: type) -> None:
    assert members(CallGateway) <= set(dir(gateway))


def test_the_real_gateway_has_every_queue_method() -> None:
    assert members(QueueGateway) - {"closing"} <= set(dir(AriGateway))


def test_mypy_checks_the_tests() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    assert "tests" in config["files"]
    assert config["strict"] is True
