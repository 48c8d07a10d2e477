"""The scenario page's typical edits (stasis_app/flow/editing.py) on the
shipped bank flow: each gives the YAML a bank's admin meant, the flow
checker (the app's own, with Cieszyn's prompts and queues) accepts it, and
the file's comments and other states stay as they were written."""

from pathlib import Path
from typing import Any

import pytest

from stasis_app.admin.prompts import PromptAdmin, PromptAdminError
from stasis_app.config import load_settings
from stasis_app.deployment import Deployment, build_deployment
from stasis_app.errors import ConfigError
from stasis_app.flow.editing import EditError, FlowDocument, slug
from stasis_app.flow.model import Flow, parse_flow_text
from tests.conftest import TEST_CONFIG

pytestmark = pytest.mark.unit

BANK = Path("config/flows/bank.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    return build_deployment(settings, with_adapters=False)


def checked(deployment: Deployment, text: str, *new_prompts: str) -> Flow:
    """``text`` through the app's checker for Cieszyn, with ``new_prompts``
    added to its book as the page adds them."""
    texts = deployment.tenants["cieszyn"].prompts.texts
    for key in new_prompts:
        texts.setdefault(key, "Nowy komunikat.")
    try:
        return deployment.check_flow("cieszyn", text, "edited")
    finally:
        for key in new_prompts:
            texts.pop(key, None)


def states(text: str) -> dict[str, Any]:
    data = parse_flow_text(text, "-")
    assert isinstance(data, dict)
    return dict(data["states"])


def test_adding_menu_option_3_plays_a_new_prompt_then_the_menu_again(
    deployment: Deployment,
) -> None:
    doc = FlowDocument(BANK)
    name = doc.add_menu_option("main_menu", "3", "Informacje o banku", "informacje_o_banku")
    text = doc.text()
    flow = checked(deployment, text, "informacje_o_banku")
    assert name == "informacje_o_banku"
    assert flow.states["main_menu"].on["3"] == name
    assert flow.states[name].verb.name == "say"
    assert flow.states[name].on == {"done": "main_menu"}
    assert states(text)[name]["title"] == "Informacje o banku"
    # The comments and the other states are as written; the key is written "3".
    assert "# --- blocking: identify by telekod" in text
    assert '"3": informacje_o_banku' in text
    comments = [line.strip() for line in BANK.splitlines() if line.strip().startswith("#")]
    assert all(comment in text for comment in comments)


def test_changing_which_key_does_what_and_removing_an_option(deployment: Deployment) -> None:
    doc = FlowDocument(BANK)
    doc.change_key("main_menu", "2", "4")
    gone = doc.remove_option("block_menu", "2")
    flow = checked(deployment, doc.text())
    assert flow.states["main_menu"].on["4"] == "balance_number"
    assert "2" not in flow.states["main_menu"].on
    # The internet-banking branch only key 2 reached went with it: nothing unreachable.
    assert gone == ["after_ib_block", "ib_block", "ib_blocked", "ib_confirm"]
    assert "2" not in flow.states["block_menu"].on and "ib_confirm" not in flow.states


def test_a_key_already_used_or_a_repeat_key_is_refused_in_polish() -> None:
    doc = FlowDocument(BANK)
    with pytest.raises(EditError, match="klawisz 1 już coś robi"):
        doc.add_menu_option("main_menu", "1", "x", "greeting")
    with pytest.raises(EditError, match="klawisz 9 powtarza menu"):
        doc.change_key("main_menu", "2", "9")
    with pytest.raises(EditError, match="nie jest klawiszem"):
        doc.add_menu_option("main_menu", "33", "x", "greeting")


def test_changing_the_number_of_digits_asked(deployment: Deployment) -> None:
    doc = FlowDocument(BANK)
    doc.set_params("block_number", {"min_digits": 6, "max_digits": 10})
    flow = checked(deployment, doc.text())
    params = flow.states["block_number"].params
    assert (params.min_digits, params.max_digits) == (6, 10)  # type: ignore[attr-defined]


def test_a_bad_number_of_digits_is_named_by_its_field(deployment: Deployment) -> None:
    doc = FlowDocument(BANK)
    doc.set_params("block_number", {"max_digits": 40})
    with pytest.raises(ConfigError) as caught:
        checked(deployment, doc.text())
    assert caught.value.field == "states.block_number.params.max_digits"


def test_inserting_a_say_state_after_the_greeting(deployment: Deployment) -> None:
    doc = FlowDocument(BANK)
    name = doc.insert_say("greeting", "done", "please_wait", "Chwila przerwy")
    flow = checked(deployment, doc.text())
    assert flow.states["greeting"].on["done"] == name == "chwila_przerwy"
    assert flow.states[name].on == {"done": "main_menu"}


def test_an_option_to_the_consultant_queue_or_to_the_banks_webservice(
    deployment: Deployment,
) -> None:
    doc = FlowDocument(BANK)
    # The consultant most states already hand callers to: no new state.
    assert doc.to_consultant("block_menu", "2") == "consultant"
    hook = doc.to_webhook("main_menu", "2")
    flow = checked(deployment, doc.text())  # the balance branch only key 2 reached is gone
    assert flow.states["block_menu"].on["2"] == "consultant"
    assert flow.states["main_menu"].on["2"] == hook
    # The same webservice (and key) as the file's: the only one a version may call.
    assert flow.states[hook].params.url == flow.states["webservice"].params.url  # type: ignore[attr-defined]
    assert flow.states[hook].on == {"done": "main_menu", "failed": "main_menu"}
    assert "balance_number" not in flow.states and "history" not in flow.states


def test_an_option_to_a_named_queue_makes_a_transfer_to_it() -> None:
    doc = FlowDocument(BANK)
    name = doc.to_consultant("main_menu", "0", queue="kredyty")
    spec = states(doc.text())[name]
    assert spec["verb"] == "transfer" and spec["params"] == {"queue": "kredyty"}
    assert spec["on"] == {"failed": "goodbye"}


def test_a_title_is_written_first_in_the_state_and_removed_when_empty(
    deployment: Deployment,
) -> None:
    doc = FlowDocument(BANK)
    doc.set_title("main_menu", "Menu  główne ")
    text = doc.text()
    assert "  main_menu:\n    title: Menu główne\n    verb: menu" in text
    checked(deployment, text)
    doc.set_title("main_menu", "")
    assert "title" not in states(doc.text())["main_menu"]


def test_slugs_of_polish_titles() -> None:
    assert slug("Informacje o banku") == "informacje_o_banku"
    assert slug("Zażółć gęślą jaźń!") == "zazolc_gesla_jazn"
    assert slug("???") == "stan"


def test_a_new_prompt_is_kept_in_the_banks_book(tmp_path: Path) -> None:
    """The page's new prompt exists for the checker at the next start too
    (PromptAdmin.own_prompts, before the flows are checked)."""
    from tests.support.isolated_admin import isolated_prompt_admin

    admin = isolated_prompt_admin(tmp_path)
    admin.store.set_prompt_text(
        "cieszyn", "informacje_o_banku", "Bank działa od 1900 roku.", "t", ""
    )
    assert "informacje_o_banku" not in admin.deployment.tenants["cieszyn"].prompts.texts
    assert admin.own_prompts() == 1
    texts = admin.deployment.tenants["cieszyn"].prompts.texts
    assert texts["informacje_o_banku"] == "Bank działa od 1900 roku."
    assert isinstance(admin, PromptAdmin)


async def test_a_new_prompt_made_on_one_node_reaches_another(tmp_path: Path) -> None:
    """Two nodes on one store: the prompt the page made on one is in the
    other's books after its next look at the store (PromptAdmin.sync)."""
    from tests.support.isolated_admin import isolated_prompt_admin

    here = isolated_prompt_admin(tmp_path)
    there = PromptAdmin(
        build_deployment(load_settings(TEST_CONFIG, resolve_secrets=False, env={
            "INFOLINIA_STATE": str(tmp_path / "state.sqlite"),
            "INFOLINIA_PROMPT_DIR": str(tmp_path / "prompts"),
            "INFOLINIA_AUDIT_HEADS_FILE": str(tmp_path / "audit-heads.log"),
        }), with_adapters=False),
        here.store,
    )  # fmt: skip
    await here.create("cieszyn", "godziny_pracy", "Pracujemy od ósmej.", "web:anna")
    assert await there.apply_stored() >= 1
    book = there.deployment.tenants["cieszyn"].prompts
    assert book.texts["godziny_pracy"] == "Pracujemy od ósmej."
    assert book.media("godziny_pracy").startswith("sound:")  # rendered: playable there
    with pytest.raises(PromptAdminError, match="already has"):
        await here.create("cieszyn", "godziny_pracy", "Inaczej.", "web:anna")
