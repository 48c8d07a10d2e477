"""Flow files are checked before any call: each kind of broken flow in
tests/data/flows/bad/ is rejected with its file, state and field."""

from pathlib import Path

import pytest

from stasis_app.config import load_settings
from stasis_app.deployment import tenant_texts
from stasis_app.errors import ConfigError
from stasis_app.flow.model import load_flow
from stasis_app.verbs.registry import VerbRegistry

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
BAD = sorted((REPO / "tests" / "data" / "flows" / "bad").glob("*.yaml"))
SETTINGS = load_settings(REPO / "config" / "infolinia.yaml", resolve_secrets=False, env={})
PROMPTS = set(tenant_texts(SETTINGS, None))


def expectation(flow: Path) -> tuple[str, str]:
    first = flow.read_text().splitlines()[0]
    field, words = first.removeprefix("# expect: ").split(" | ")
    return field, words


@pytest.mark.parametrize("flow", BAD, ids=[p.stem for p in BAD])
def test_broken_flow_is_rejected_naming_file_state_and_field(flow: Path) -> None:
    field, words = expectation(flow)
    prompts = PROMPTS - {"balance_is"} if flow.stem == "missing_spoken_prompt" else PROMPTS
    with pytest.raises(ConfigError) as caught:
        load_flow(flow, VerbRegistry(), prompts)
    assert caught.value.file == str(flow)
    assert caught.value.field.startswith(field), caught.value
    assert words in caught.value.problem, caught.value


def test_every_kind_of_break_has_a_sample() -> None:
    assert len(BAD) >= 10


def test_the_shipped_bank_flow_is_valid() -> None:
    flow = load_flow(REPO / "config" / "flows" / "bank.yaml", VerbRegistry(), PROMPTS)
    assert flow.initial == "start"  # a route: the webservice line, night, the greeting
    assert {"main_menu", "card_block", "ib_block", "balance_say", "consultant"} <= set(flow.states)


def test_flow_words_on_yes_and_no_stay_words(tmp_path: Path) -> None:
    """YAML 1.1 reads on/yes/no as booleans; flows keep them as words."""
    flow = tmp_path / "confirm.yaml"
    flow.write_text(
        "initial: ask\nstates:\n"
        "  ask: {verb: confirm, params: {prompt: [confirm_ib_block]}, "
        "on: {yes: bye, no: bye, failed: bye}}\n"
        "  bye: {verb: hangup}\n"
    )
    loaded = load_flow(flow, VerbRegistry(), PROMPTS)
    assert set(loaded.states["ask"].on) == {"yes", "no", "failed"}


def test_a_plugin_adds_a_verb_through_the_hook(tmp_path: Path) -> None:
    from adapters.hookspecs import hookimpl
    from plugin.manager import get_plugin_manager
    from stasis_app.verbs.base import Verb, VerbParams

    class Beep(Verb[VerbParams]):
        name = "beep"

    class BeepPlugin:
        @hookimpl
        def infolinia_register_verbs(self) -> list[type[Verb[VerbParams]]]:
            return [Beep]

    manager = get_plugin_manager(env={})
    manager.register(BeepPlugin())
    verbs = VerbRegistry(manager)
    flow = tmp_path / "beep.yaml"
    flow.write_text(
        "initial: b\nstates:\n  b: {verb: beep, on: {done: bye}}\n  bye: {verb: hangup}\n"
    )
    assert load_flow(flow, verbs, PROMPTS).states["b"].verb.name == "beep"
    with pytest.raises(ConfigError, match="unknown verb 'beep'"):
        load_flow(flow, VerbRegistry(), PROMPTS)


@pytest.mark.parametrize("into", ["new_pin", "new_pin_again"])
def test_a_new_telekod_gathered_as_a_plain_value_is_refused(tmp_path: Path, into: str) -> None:
    """The telekod change needs the new telekod (typed twice) kept secret
    too: gathered plainly it would be a value a webhook is sent."""
    shipped = (REPO / "config" / "flows" / "bank.yaml").read_text()
    lines = shipped.splitlines()
    at = next(i for i, line in enumerate(lines) if f"into: {into}" in line)
    # The gather's own lines, from its "into" down to its "secret: true".
    end = next(i for i in range(at, at + 6) if "secret: true" in lines[i])
    lines[end] = lines[end].replace("secret: true", "secret: false")
    flow = tmp_path / "bank.yaml"
    flow.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_flow(flow, VerbRegistry(), PROMPTS)
    assert caught.value.field.endswith(".params.secret"), caught.value
    assert f"'{into}' is a secret state" in caught.value.problem, caught.value
