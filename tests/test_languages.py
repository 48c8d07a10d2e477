# ruff: noqa: RUF001  (Ukrainian texts: Cyrillic letters that look Latin)
"""A bank offering Ukrainian and English besides Polish: its config and the
errors naming file and field, the language key at the greeting, every later
prompt and number from the chosen language, the catalogues' completeness
(``flow check``), the admin editing each language, the call record."""

import contextlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from adapters.demo import DemoBank, DemoSettings
from stasis_app.admin.prompts import PromptAdmin, UnknownPrompt
from stasis_app.cli import main
from stasis_app.config import load_settings
from stasis_app.deployment import Deployment, build_deployment
from stasis_app.errors import ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.speech import value_keys
from stasis_app.queue.speech import announcement_keys
from stasis_app.reports.records import from_trail
from stasis_app.reports.trail import CallTrail
from stasis_app.store import Store
from stasis_app.telephony.live_calls import CallRegistry
from stasis_app.verbs.language import Language, LanguageParams
from tests.conftest import TEST_CONFIG
from tests.support.admin_site import Clock, accounts_with, admin_client, login
from tests.support.fake_call import FakeCall
from tests.support.isolated_admin import isolated_env, isolated_prompt_admin
from voice import english, ukrainian
from voice.fragments import fragment_keys, heard_word

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]

REPO = Path(__file__).resolve().parent.parent
BANK = "przemysl"  # the test config's bank offering uk (8) and en (7)


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return build_deployment(
        load_settings(TEST_CONFIG, resolve_secrets=False, env={}), with_adapters=False
    )


def config(tmp_path: Path, languages: str, flow: str = "flows/bank.yaml") -> Path:
    """A deployment of one bank with ``languages`` (YAML), on the shipped catalogues."""
    for name in ("pl", "uk", "en"):
        (tmp_path / f"{name}.yaml").write_text(
            (REPO / f"config/prompts/{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    path = tmp_path / "infolinia.yaml"
    path.write_text(
        f"prompts: {tmp_path / 'pl.yaml'}\n"
        f"voice: {{cache_dir: {tmp_path}/cache, engines: [{{name: espeak-ng}}]}}\n"
        "tenants:\n"
        "  bank:\n"
        "    name: Bank\n"
        '    lines: ["100"]\n'
        f"    flow: {REPO / 'config' / flow}\n"
        f"    adapter: {{name: demo, settings: {{database: {tmp_path}/demo.sqlite, tenant: b}}}}\n"
        f"    languages: {languages}\n",
        encoding="utf-8",
    )
    return path


def built(path: Path) -> Deployment:
    return build_deployment(load_settings(path, resolve_secrets=False, env={}), with_adapters=False)


def test_each_language_has_a_book_spoken_by_the_chain_told_its_language(
    deployment: Deployment,
) -> None:
    served = deployment.tenants[BANK]
    assert set(served.books) == {"uk", "en"}
    for language, book in served.books.items():
        assert book.cache.chain.identity.startswith(f"espeak-ng 1.51 voice={language} ")
        assert (
            book.texts["language_offer"] == {"uk": "Українська, 8.", "en": "English, 7."}[language]
        )
        assert served.flow.prompt_keys() <= book.texts.keys()
    assert served.books["uk"].texts["greeting"] == "Добрий день."
    # A bank without languages has none (and behaves as before: see below).
    assert deployment.tenants["izbica"].books == {}
    assert deployment.tenants["izbica"].prompts.texts.keys().isdisjoint({"language_offer"})


def test_numbers_are_spoken_from_the_call_languages_fragments(deployment: Deployment) -> None:
    for language, say in (("uk", ukrainian), ("en", english)):
        book = deployment.tenants[BANK].book(language)
        keys = value_keys("digits", "12034567", language)
        assert keys == fragment_keys(say.digit_words("12034567"))
        assert set(keys) <= book.texts.keys()
        amount = value_keys("amount", "1234.56", language)
        heard = [heard_word(book.texts[k]) for k in amount]
        assert heard == say.amount_words(Decimal("1234.56"))
        queue = announcement_keys(3, 300, language)
        assert set(queue) <= book.texts.keys()
    assert value_keys("digits", "10", "uk") == ["w_один,", "w_нуль"]
    assert value_keys("digits", "10", "en") == ["w_one,", "w_zero"]
    assert value_keys("digits", "10") == ["w_jeden,", "w_zero"]


async def test_a_bank_without_languages_hears_the_greeting_only(
    deployment: Deployment,
) -> None:
    call = FakeCall()
    ctx = CallContext(call=call, tenant=deployment.tenants["izbica"].tenant, bank=None)  # type: ignore[arg-type]
    assert await Language().run(ctx, LanguageParams(prompt=["greeting"])) == "done"
    assert call.heard == [["greeting"]] and call.language == "pl"


async def test_the_key_at_the_greeting_picks_the_language(deployment: Deployment) -> None:
    tenant = deployment.tenants[BANK].tenant
    params = LanguageParams(prompt=["greeting"], wait=0)
    quiet = FakeCall()
    await Language().run(CallContext(call=quiet, tenant=tenant, bank=None), params)  # type: ignore[arg-type]
    # Nobody pressed: the greeting, each offer in its own language, Polish stays.
    assert quiet.heard == [["greeting"], ["language_offer"], ["language_offer"]]
    assert quiet.heard_in == ["pl", "uk", "en"] and quiet.language == "pl"
    for key, language in (("8", "uk"), ("7", "en")):
        call = FakeCall(keys=key)
        ctx = CallContext(call=call, tenant=tenant, bank=None)  # type: ignore[arg-type]
        await Language().run(ctx, params)
        assert (call.language, ctx.trail.language, call.has_keys()) == (language, language, False)
    menu_key = FakeCall(keys="1")  # the main menu's key, typed ahead: kept for the menu
    await Language().run(CallContext(call=menu_key, tenant=tenant, bank=None), params)  # type: ignore[arg-type]
    assert menu_key.language == "pl" and menu_key.take_key() == "1"


async def test_a_ukrainian_caller_blocks_a_card_hearing_only_ukrainian(
    deployment: Deployment, tmp_path: Path
) -> None:
    served = deployment.tenants[BANK]
    bank = DemoBank(DemoSettings(database=tmp_path / "demo.sqlite", tenant="lang"))
    bank.reset()
    call = FakeCall(keys="8" + "1" + "12345678" + "1234#" + "1" + "1" + "1")
    ctx = CallContext(call=call, tenant=served.tenant, bank=bank)
    await run_flow(served.flow, ctx)
    await bank.close()
    # 8 typed ahead stops the greeting (and the keys after it each menu):
    # every prompt heard is Ukrainian.
    assert call.heard and set(call.heard_in) == {"uk"}
    blocked = next(keys for keys in call.heard if keys[0] == "card_blocked")
    reference = bank.snapshot("12345678")["blocks"][0]["reference"]
    assert blocked[1:] == fragment_keys(ukrainian.digit_words(reference))
    record = from_trail(
        ctx.trail, tenant=BANK, line="130", node="n", call_id="c", flow="bank.yaml",
        flow_version="v", outcome="completed",
    )  # fmt: skip
    assert record.language == "uk"


def test_config_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    offers = '{uk: {key: "8", offer: "Українська, 8."}, en: {key: "8", offer: "English."}}'
    with pytest.raises(ConfigError, match=r"tenants\.bank\.languages.*key '8' picks two"):
        built(config(tmp_path, offers))
    with pytest.raises(ConfigError, match=r"tenants\.bank\.languages\.uk\.key"):
        built(config(tmp_path, '{uk: {key: "88", offer: "x"}}'))
    with pytest.raises(ConfigError, match=r"tenants\.bank\.languages\.de"):
        built(config(tmp_path, '{de: {key: "8", offer: "Deutsch, 8."}}'))
    unknown = '{uk: {key: "8", offer: "x", prompts: {greting: "Привіт."}}}'
    with pytest.raises(ConfigError, match=r"tenants\.bank\.languages\.uk\.prompts\.greting"):
        built(config(tmp_path, unknown))
    path = config(tmp_path, '{en: {key: "7", offer: "English, 7."}}')
    texts = yaml.safe_load((tmp_path / "en.yaml").read_text(encoding="utf-8"))
    del texts["block_menu"]
    (tmp_path / "en.yaml").write_text(yaml.safe_dump(texts, allow_unicode=True), "utf-8")
    with pytest.raises(ConfigError) as missing:
        built(path)
    assert (missing.value.file, missing.value.field) == (str(tmp_path / "en.yaml"), "block_menu")
    (tmp_path / "en.yaml").unlink()
    with pytest.raises(ConfigError, match=r"tenants\.bank\.languages\.en: no prompt catalogue"):
        built(path)
    hello = REPO / "examples"  # a flow without the language verb cannot offer languages
    flows = [p for p in hello.rglob("*.yaml") if "states:" in p.read_text(encoding="utf-8")]
    if flows:
        no_offer = config(tmp_path, '{uk: {key: "8", offer: "x"}}', str(flows[0]))
        with pytest.raises(ConfigError, match=r"tenants\.bank\.languages: the flow"):
            built(no_offer)


def test_flow_check_names_every_missing_key_of_each_language(tmp_path: Path) -> None:
    path = config(tmp_path, '{uk: {key: "8", offer: "Українська, 8."}}')
    for name, dropped in (("uk", ["press", "goodbye"]), ("en", ["main_menu"])):
        texts = yaml.safe_load((tmp_path / f"{name}.yaml").read_text(encoding="utf-8"))
        for key in dropped:
            del texts[key]
        texts["extra_key"] = "x"
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(texts, allow_unicode=True), "utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["--config", str(path), "flow", "check"]) == 2
    lines = err.getvalue().splitlines()
    assert f"infolinia: {tmp_path / 'uk.yaml'}: press: missing (it is in pl.yaml)" in lines
    assert f"infolinia: {tmp_path / 'uk.yaml'}: goodbye: missing (it is in pl.yaml)" in lines
    assert f"infolinia: {tmp_path / 'en.yaml'}: main_menu: missing (it is in pl.yaml)" in lines
    assert f"infolinia: {tmp_path / 'en.yaml'}: extra_key: not a prompt of pl.yaml" in lines


def test_the_shipped_catalogues_have_the_same_keys_and_pass_flow_check() -> None:
    polish = yaml.safe_load((REPO / "config/prompts/pl.yaml").read_text(encoding="utf-8"))
    for name in ("uk", "en"):
        texts = yaml.safe_load((REPO / f"config/prompts/{name}.yaml").read_text(encoding="utf-8"))
        assert texts.keys() == polish.keys()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(REPO / "config/infolinia.yaml"), "flow", "check"]) == 0
    [cieszyn] = [line for line in out.getvalue().splitlines() if line.startswith("cieszyn:")]
    assert cieszyn.endswith("lines 101, languages pl, uk, en)") and "bank.yaml ok" in cieszyn


async def test_the_admin_edits_each_languages_texts(tmp_path: Path) -> None:
    settings = load_settings(TEST_CONFIG, env=isolated_env(tmp_path), resolve_secrets=False)
    admin = PromptAdmin(build_deployment(settings, with_adapters=False), Store(settings.state))
    served = admin.deployment.tenants[BANK]
    assert admin.languages(BANK) == ["pl", "uk", "en"]
    listed = {info.key: info for info in admin.list_prompts(BANK, "uk")}
    assert listed["uk:greeting"].text == "Добрий день."
    assert listed["uk:language_offer"].source == "config"
    assert not any(key.startswith("uk:w_") for key in listed)  # number words are generated
    edit = await admin.set(BANK, "uk:greeting", "Вітаємо у банку.", who="anna")
    assert (edit.old_text, edit.new_text) == ("Добрий день.", "Вітаємо у банку.")
    assert served.books["uk"].texts["greeting"] == "Вітаємо у банку."
    assert served.prompts.texts[
        "greeting"
    ] == "Przemyśl." and "greeting" not in admin.store.prompt_texts(BANK)
    assert admin.show(BANK, "uk:greeting").source == "edited"
    assert admin.history(BANK, "uk:greeting")[0].who == "anna"
    with pytest.raises(UnknownPrompt):
        admin.list_prompts("izbica", "uk")
    with pytest.raises(UnknownPrompt):
        await admin.set(BANK, "de:greeting", "Hallo.", who="anna")
    # A restart loads the edit into the Ukrainian book, not the Polish one.
    again = PromptAdmin(build_deployment(settings, with_adapters=False), Store(settings.state))
    again.load_stored()
    assert again.deployment.tenants[BANK].books["uk"].texts["greeting"] == "Вітаємо у банку."
    assert again.deployment.tenants[BANK].prompts.texts["greeting"] == "Przemyśl."


def test_a_call_without_a_language_choice_is_recorded_as_polish() -> None:
    trail = CallTrail()
    trail.entered("greeting")
    record = from_trail(
        trail, tenant="t", line="1", node="n", call_id="c", flow="f", flow_version="v",
        outcome="completed",
    )  # fmt: skip
    assert record.language == "pl"


async def test_the_prompts_page_edits_each_languages_texts(tmp_path: Path) -> None:
    admin = isolated_prompt_admin(tmp_path)
    accounts = accounts_with(admin, Clock(), ("olena", "admin", BANK))
    async with admin_client(admin, accounts, CallRegistry(Clock())) as client:
        csrf = await login(client, "olena")
        polish = await (await client.get(f"/admin/prompts/{BANK}")).text()
        assert '<p id="languages">Język: <strong>polski</strong>' in polish
        assert f'href="/admin/prompts/{BANK}?lang=uk">українська</a>' in polish
        assert f'href="/admin/prompts/{BANK}/greeting"' in polish
        page = await (await client.get(f"/admin/prompts/{BANK}", params={"lang": "uk"})).text()
        assert "Добрий день." in page and "Przemyśl." not in page
        edit = f"/admin/prompts/{BANK}/uk%3Agreeting"
        assert f'href="{edit}"' in page
        shown = await (await client.get(edit)).text()
        assert 'id="published">Добрий день.' in shown
        preview = await client.get(edit + "/preview.wav", params={"text": "Вітаємо."})
        assert preview.status == 200 and (await preview.read())[:4] == b"RIFF"
        published = await client.post(
            edit + "/publish", data={"text": "Вітаємо.", "expected": "Добрий день.", "csrf": csrf}
        )
        assert published.status == 200 and "Opublikowano" in await published.text()
        assert admin.deployment.tenants[BANK].books["uk"].texts["greeting"] == "Вітаємо."
        assert admin.deployment.tenants[BANK].prompts.texts["greeting"] == "Przemyśl."
        unknown = await client.get(f"/admin/prompts/{BANK}", params={"lang": "de"})
        assert unknown.status == 404
