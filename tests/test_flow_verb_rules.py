"""A verb carries its own rules: the flow model, the picture, the engine and
the deployment ask the verb, never its name. A plugin's verbs that declare
what the built-ins declare (a secret gathered for the login that follows,
a secret used, a state it always goes to, a queue, a picture label, an end
of the flow) are treated exactly like the built-ins."""

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from adapters.hookspecs import hookimpl
from plugin.manager import get_plugin_manager
from stasis_app.deployment import _check_queues
from stasis_app.errors import ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.graph import to_dot, to_mermaid
from stasis_app.flow.model import load_flow
from stasis_app.tenants import Tenant
from stasis_app.verbs.base import Gathered, Verb, VerbParams
from stasis_app.verbs.registry import VerbRegistry

pytestmark = pytest.mark.unit


class PinParams(VerbParams):
    into: str


class CardReaderPin(Verb[PinParams]):
    """A vendor's gather: the PIN comes from a card reader, kept secret."""

    name = "vendor-pin"
    Params = PinParams
    passes_secrets = True

    def gathers(self, params: PinParams) -> Gathered:
        return Gathered(params.into, secret=True)

    async def run(self, ctx: CallContext, params: PinParams) -> str:
        ctx.secrets[params.into] = "1234"
        return "done"


class CheckParams(VerbParams):
    secret: str


class PinCheck(Verb[CheckParams]):
    """A vendor's login: uses the secret a gather kept."""

    name = "vendor-check"
    Params = CheckParams
    heard: list[str] = []  # noqa: RUF012 (what each run was handed)

    def events(self, params: CheckParams, transitions: Sequence[str]) -> set[str]:
        return {"ok", "refused"}

    def uses_secret(self, params: CheckParams) -> str:
        return params.secret

    async def run(self, ctx: CallContext, params: CheckParams) -> str:
        secret = ctx.take_secret(params.secret)
        self.heard.append(secret)
        return "ok" if secret == "1234" else "refused"


class JumpParams(VerbParams):
    to: str


class Jump(Verb[JumpParams]):
    """A vendor's goto: its transition comes from its params."""

    name = "vendor-jump"
    Params = JumpParams

    def transitions(self, params: JumpParams, on: Mapping[str, str]) -> dict[str, str]:
        return {"done": params.to}

    async def run(self, ctx: CallContext, params: JumpParams) -> str:
        return "done"


class HandOffParams(VerbParams):
    desk: str = Field(description="the tenant's queue")


class HandOff(Verb[HandOffParams]):
    """A vendor's transfer: ends the flow, names a queue, draws its desk."""

    name = "vendor-handoff"
    Params = HandOffParams
    terminal = True

    def events(self, params: HandOffParams, transitions: Sequence[str]) -> set[str]:
        return set()

    def queue(self, params: HandOffParams) -> str:
        return params.desk

    def label(self, params: HandOffParams) -> str:
        return f"hand off: {params.desk}"

    async def run(self, ctx: CallContext, params: HandOffParams) -> str:
        return "done"


class Farewell(Verb[VerbParams]):
    """A vendor's goodbye that only says it is terminal: its "done" ends the
    flow, with the default events."""

    name = "vendor-farewell"
    terminal = True

    async def run(self, ctx: CallContext, params: VerbParams) -> str:
        return "done"


class VendorVerbs:
    @hookimpl
    def infolinia_register_verbs(self) -> list[type[Verb[Any]]]:
        return [CardReaderPin, PinCheck, Jump, HandOff, Farewell]


FLOW = """\
initial: pin
states:
  pin: {verb: vendor-pin, params: {into: pin}, on: {done: check}}
  check: {verb: vendor-check, params: {secret: pin}, on: {ok: onward, refused: onward}}
  onward: {verb: vendor-jump, params: {to: desk}}
  desk: {verb: vendor-handoff, params: {desk: cards}}
"""


@pytest.fixture
def verbs() -> VerbRegistry:
    manager = get_plugin_manager(env={})
    manager.register(VendorVerbs())
    return VerbRegistry(manager)


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "vendor.yaml"
    path.write_text(FLOW)
    return path


def test_a_plugins_gather_and_login_pass_the_secret_check(
    verbs: VerbRegistry, flow_file: Path
) -> None:
    flow = load_flow(flow_file, verbs)
    assert flow.states["onward"].on == {"done": "desk"}  # made from its params, like goto


def test_a_plugins_login_without_a_secret_gather_is_refused(
    verbs: VerbRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "open.yaml"
    path.write_text(
        FLOW.replace(
            "verb: vendor-pin, params: {into: pin}", "verb: vendor-jump, params: {to: check}"
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_flow(path, verbs)
    assert caught.value.field == "states.check.params.secret"


def test_the_engine_keeps_a_plugins_secret_for_the_next_state_only(
    verbs: VerbRegistry, flow_file: Path
) -> None:
    flow = load_flow(flow_file, verbs)
    ctx = CallContext(call=None, tenant=None, bank=None)  # type: ignore[arg-type]
    PinCheck.heard.clear()
    assert asyncio.run(run_flow(flow, ctx)) == "desk"  # the terminal verb ended it
    assert PinCheck.heard == ["1234"]
    assert ctx.secrets == {}


def test_the_picture_draws_a_plugins_label_and_end(verbs: VerbRegistry, flow_file: Path) -> None:
    flow = load_flow(flow_file, verbs)
    assert 'desk["desk<br/>hand off: cards"]' in to_mermaid(flow)
    assert "style desk fill:#fde2e2" in to_mermaid(flow)
    assert 'desk [label="desk\\nhand off: cards", fillcolor="#fde2e2"]' in to_dot(flow)


def test_the_deployment_checks_a_plugins_queue(verbs: VerbRegistry, flow_file: Path) -> None:
    flow = load_flow(flow_file, verbs)
    tenant = Tenant(
        id="izbica",
        name="BS Izbica",
        lines=["100"],
        flow="f.yaml",
        adapter={"name": "demo"},
        queues={"main": {"agents": ["PJSIP/a"]}},
    )
    with pytest.raises(ConfigError, match="transfers to queue 'cards', which is not defined"):
        _check_queues("infolinia.yaml", tenant, flow)
    cards = Tenant(**{**tenant.model_dump(), "queues": {"cards": {"agents": ["PJSIP/a"]}}})
    _check_queues("infolinia.yaml", cards, flow)  # its queue exists: accepted


def test_a_terminal_verbs_done_needs_no_transition(verbs: VerbRegistry, tmp_path: Path) -> None:
    """``terminal = True`` alone is enough (the checker used to ask for an
    ``on: {done: ...}`` unless the verb also overrode ``events``)."""
    path = tmp_path / "bye.yaml"
    path.write_text("initial: bye\nstates:\n  bye: {verb: vendor-farewell}\n")
    assert load_flow(path, verbs).states["bye"].on == {}
