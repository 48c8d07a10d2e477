"""Banks kept in the state store beside the config file's
(stasis_app/tenancy): saving and changing them (ids and numbers one bank's,
a stale change refused), merging them into the file's settings (the file
wins; a bank that does not load on a node is left out with its problem, the
others serve), the adapter settings form made from the adapter's own schema
(secrets only as references), and ``infolinia tenant list|show|export``."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, Field, SecretStr

from adapters.hookspecs import SECRET_ENV, AdapterFactory
from adapters.registry import AdapterRegistry
from stasis_app.cli import main
from stasis_app.config import Settings, load_settings
from stasis_app.deployment import build_deployment
from stasis_app.errors import ConfigError
from stasis_app.store import Store
from stasis_app.tenancy.form import (
    adapter_fields,
    check_bank,
    form_from_spec,
    literal_secrets,
    offered_adapters,
    spec_from_form,
)
from stasis_app.tenancy.stored import (
    StaleTenant,
    TenantStore,
    TenantStoreError,
    build_serving,
    origins,
)
from tests.conftest import TEST_CONFIG, TEST_PLUGINS
from tests.support.isolated_admin import isolated_env

pytestmark = pytest.mark.unit

BANK_FLOW = "../../../config/flows/bank.yaml"


def bank(lines: list[str], greeting: str = "Krosno.", **more: object) -> dict[str, object]:
    return {
        "name": "Bank Spółdzielczy w Krośnie",
        "lines": lines,
        "flow": BANK_FLOW,
        "adapter": {"name": "demo", "settings": {"database": "/tmp/x.sqlite", "tenant": "izbica"}},
        "prompts": {"greeting": greeting},
        **more,
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(TEST_CONFIG, env=isolated_env(tmp_path), resolve_secrets=False)


@pytest.fixture
def banks(settings: Settings) -> TenantStore:
    return TenantStore(Store(settings.state))


@pytest.fixture
def both_engines(state_where: Path | str) -> TenantStore:
    """The store's banks once on SQLite, once on PostgreSQL (tests/support/stores.py)."""
    return TenantStore(Store(state_where))


def test_a_bank_is_saved_changed_and_its_id_and_numbers_stay_one_banks(
    both_engines: TenantStore, settings: Settings
) -> None:
    banks = both_engines
    added = banks.save("krosno", bank(["181"]), "ola", settings.tenants)
    assert (added.revision, added.created_by, added.spec["lines"]) == (1, "ola", ["181"])
    with pytest.raises(TenantStoreError, match="exists already"):
        banks.save("krosno", bank(["182"]), "ola", settings.tenants)
    with pytest.raises(TenantStoreError, match="number 181 is a line of krosno"):
        banks.save("jaslo", bank(["183", "181"]), "ola", settings.tenants)
    with pytest.raises(TenantStoreError, match="number 100 is a line of izbica"):
        banks.save("jaslo", bank(["100"]), "ola", settings.tenants)
    with pytest.raises(TenantStoreError, match="in the config file"):
        banks.save("izbica", bank(["184"]), "ola", settings.tenants)
    changed = banks.save(
        "krosno", bank(["181"], "Nowe."), "ewa", settings.tenants, expected_revision=1
    )
    assert (changed.revision, changed.created_by, changed.changed_by) == (2, "ola", "ewa")
    with pytest.raises(StaleTenant):  # another admin saved it first
        banks.save("krosno", bank(["181"]), "ola", settings.tenants, expected_revision=1)
    banks.save("jaslo", bank(["182"]), "ola", settings.tenants)
    assert banks.revisions() == {"krosno": 2, "jaslo": 3}


def test_two_admins_adding_one_number_at_once_cannot_both_succeed(
    both_engines: TenantStore, settings: Settings
) -> None:
    def add(tenant: str) -> str:
        try:
            both_engines.save(tenant, bank(["196"]), "ola", settings.tenants)
        except TenantStoreError as exc:
            return str(exc)
        return "saved"

    with ThreadPoolExecutor(4) as threads:
        answers = list(threads.map(add, ["sanok", "jaslo", "gorlice", "krosno"]))
    assert answers.count("saved") == 1, answers
    [owner] = [bank.id for bank in both_engines.all()]
    assert all(a == f"number 196 is a line of {owner}" for a in answers if a != "saved")


def test_the_store_banks_join_the_files_and_one_that_does_not_load_is_left_out(
    banks: TenantStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test config's faulty cores are test plugins, as the real calls' app loads them.
    monkeypatch.setenv("INFOLINIA_PLUGINS", f"tests.support.faulty_adapters,{TEST_PLUGINS}")
    monkeypatch.setenv("INFOLINIA_TEST_CORE_SECRET", "test-core-key")
    banks.save("krosno", bank(["181"]), "ola", settings.tenants)
    banks.save("zly_adapter", bank(["182"], adapter={"name": "nie-ma-takiego"}), "ola", {})
    banks.save("zla_kolejka", bank(["183"], consultant={"queue": "brak"}), "ola", {})
    # Saved before the file took its number (the file wins).
    banks.save("zajety", bank(["100"]), "ola", {})

    merged, deployment, left_out = build_serving(settings, banks.all())
    assert deployment.lines["181"].tenant.id == "krosno"
    assert deployment.lines["100"].tenant.id == "izbica"
    assert "182" not in deployment.lines and "183" not in deployment.lines
    assert set(left_out) == {"zly_adapter", "zla_kolejka", "zajety"}
    assert left_out["zly_adapter"].startswith(
        "tenants.zly_adapter.adapter: no adapter named 'nie-ma-takiego'"
    )
    assert "consultant.queue 'brak' is not one of queues" in left_out["zla_kolejka"]
    assert left_out["zajety"] == "number 100 is a line of izbica"
    assert merged.tenants["krosno"].flow == settings.source.parent / BANK_FLOW
    found = origins(settings, banks.all(), left_out)
    assert found["izbica"].kind == "file" and found["izbica"].where == str(settings.source)
    assert found["krosno"].kind == "store" and found["krosno"].created_by == "ola"
    assert found["zajety"].problem == "number 100 is a line of izbica"


def test_a_problem_of_a_file_bank_is_the_files(banks: TenantStore, settings: Settings) -> None:
    banks.save("krosno", bank(["181"]), "ola", settings.tenants)
    broken = settings.tenants["echo"].model_copy(update={"flow": Path("/nie/ma.yaml")})
    with pytest.raises(ConfigError, match=r"ma\.yaml"):
        build_serving(
            settings.model_copy(update={"tenants": {**settings.tenants, "echo": broken}}),
            banks.all(),
            lambda s: build_deployment(s, with_adapters=False),
        )


class LiteralKey(BaseModel):
    url: str
    key: SecretStr


class EnvKey(BaseModel):
    url: str = Field(title="Adres")
    key_env: str = Field(title="Zmienna z kluczem", json_schema_extra=SECRET_ENV)
    retries: int = 1
    verify: bool = True


def test_the_settings_form_comes_from_the_adapters_schema() -> None:
    factory = AdapterFactory(name="env", settings=EnvKey, create=lambda s: s)
    fields = {f.name: f for f in adapter_fields(factory)}
    assert (fields["url"].label, fields["url"].kind, fields["url"].required) == (
        "Adres",
        "text",
        True,
    )
    assert fields["key_env"].secret == "env"
    assert (fields["retries"].kind, fields["retries"].default) == ("integer", "1")
    assert (fields["verify"].kind, fields["verify"].default) == ("boolean", "true")
    web = {f.name: f for f in adapter_fields(AdapterRegistry().require("webservice"))}
    assert web["secret_env"].secret == "env" and web["secret_file"].secret == "file"
    assert web["client_key"].secret == "file" and web["ca_file"].secret == ""
    assert web["request_timeout"].kind == "number" and web["ca_file"].kind == "path"
    # An adapter that takes its secret as a value is not offered on the page.
    literal = AdapterFactory(name="literal", settings=LiteralKey, create=lambda s: s)
    assert literal_secrets(literal) == ["key"]
    assert set(offered_adapters(AdapterRegistry())) >= {"demo", "webservice"}


def form(**changes: str) -> dict[str, str]:
    values = {
        "id": "krosno",
        "name": "Krosno",
        "lines": "181 182",
        "adapter": "webservice",
        "adapter.webservice.base_url": "http://127.0.0.1:18766",
        "adapter.webservice.secret_env": "KROSNO_CORE_KEY",
        "flow": BANK_FLOW,
        "greeting": "Krosno.",
        "agents": "PJSIP/anna",
        "open": "08:00",
        "close": "16:00",
        "day.mon": "on",
    }
    values.update(changes)
    return values


def test_a_literal_secret_is_refused_and_a_reference_is_kept_as_given(settings: Settings) -> None:
    adapters = offered_adapters(AdapterRegistry())
    tenant, spec, errors = spec_from_form(form(), settings, adapters)
    assert errors == {}
    assert spec["adapter"] == {
        "name": "webservice",
        "settings": {"base_url": "http://127.0.0.1:18766/", "secret_env": "KROSNO_CORE_KEY"},
    }
    # The form of the saved bank (to change it) is the form as filled in.
    assert form_from_spec(tenant, spec) == form(
        lines="181, 182", **{"adapter.webservice.base_url": "http://127.0.0.1:18766/"}
    )
    for field, literal in [
        ("secret_env", "hmac-key=9f8e7d6c5b4a"),
        ("secret_file", "9f8e7d6c5b4a"),
        ("client_key", "-----BEGIN PRIVATE KEY-----"),
    ]:
        _, spec, errors = spec_from_form(
            form(**{f"adapter.webservice.{field}": literal}), settings, adapters
        )
        assert "nie sam sekret" in errors[f"adapter.webservice.{field}"]
        assert literal not in json.dumps(spec)


def test_a_secret_of_the_app_or_of_another_bank_is_refused(settings: Settings) -> None:
    adapters = offered_adapters(AdapterRegistry())
    krosno = {"adapter": {"name": "webservice", "settings": {"secret_env": "KROSNO_CORE_KEY"}}}
    for field, reference, whose in [
        ("secret_env", "INFOLINIA_AUDIT_KEY", "zmienne INFOLINIA_* są aplikacji"),
        ("secret_env", "KROSNO_CORE_KEY", "to sekret banku krosno"),
        ("secret_file", str(settings.audit.key_file), "to sekret aplikacji (klucz dziennika)"),
    ]:
        values = form(id="jaslo", **{"adapter.webservice.secret_env": ""})
        values[f"adapter.webservice.{field}"] = reference
        _, spec, errors = spec_from_form(values, settings, adapters, {"krosno": krosno})
        assert whose in errors[f"adapter.webservice.{field}"]
        assert reference not in json.dumps(spec)
    # Nor may a demo core's database be the state store (it would write into it).
    values = form(adapter="demo", **{"adapter.demo.database": str(settings.state)})
    values["adapter.demo.tenant"] = "krosno"
    _, spec, errors = spec_from_form(values, settings, adapters)
    assert errors == {"adapter.demo.database": "to plik aplikacji, nie banku: wybierz inny"}


def test_a_disguised_path_to_an_app_file_is_refused_and_an_ordinary_one_kept(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapters = offered_adapters(AdapterRegistry())
    key = settings.audit.key_file  # shared by the test run: only named, never touched
    (tmp_path / "link").symlink_to(key)
    password, pgpass = tmp_path / "state.password", tmp_path / "pgpass"
    monkeypatch.setenv("INFOLINIA_STATE_PASSWORD_FILE", str(password))
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    audit_key, store_password = "to sekret aplikacji (klucz dziennika)", "hasło bazy stanu"
    for disguised, refused in [
        (f"/{key}", audit_key),  # //...: normpath keeps it
        (f"/nowhere/..{key}", audit_key),
        (f"{key.parent}/../{key.parent.name}/{key.name}", audit_key),
        (str(tmp_path / "link"), audit_key),
        (f"/proc/self/root{key}", "/proc, /dev i /sys"),
        ("/dev/fd/3", "/proc, /dev i /sys"),
        (str(password), store_password),
        (str(pgpass), store_password),
    ]:
        values = form(id="jaslo", **{"adapter.webservice.secret_env": ""})
        values["adapter.webservice.secret_file"] = disguised
        _, spec, errors = spec_from_form(values, settings, adapters)
        assert refused in errors.get("adapter.webservice.secret_file", ""), disguised
        assert disguised not in json.dumps(spec)
    assert not isinstance(settings.state, str)
    settings.state.write_bytes(b"")
    (tmp_path / "hard").hardlink_to(settings.state)  # the same file by another name
    for database in (
        f"/{settings.state}",
        f"/proc/self/root{settings.state}",
        str(tmp_path / "hard"),
        str(pgpass),
    ):
        values = form(adapter="demo", **{"adapter.demo.database": database})
        values["adapter.demo.tenant"] = "krosno"
        _, spec, errors = spec_from_form(values, settings, adapters)
        assert set(errors) == {"adapter.demo.database"}, database
    values = form(id="jaslo", **{"adapter.webservice.secret_env": ""})
    values["adapter.webservice.secret_file"] = str(tmp_path / "jaslo.key")
    _, spec, errors = spec_from_form(values, settings, adapters)
    assert errors == {}
    assert spec["adapter"]["settings"]["secret_file"] == str(tmp_path / "jaslo.key")


def test_the_check_names_a_taken_number_and_the_adapters_own_problem(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapters = offered_adapters(AdapterRegistry())
    lines = {line: t.id for t in settings.tenants.values() for line in t.lines}
    tenant, spec, errors = spec_from_form(form(lines="181 107"), settings, adapters)
    asyncio.run(check_bank(settings, tenant, spec, lines, set(settings.tenants), errors))
    assert errors == {"lines": "numer 107 ma już bank echo"}
    # The adapter made as the app makes it: its key's variable must be set here.
    tenant, spec, errors = spec_from_form(form(), settings, adapters)
    asyncio.run(check_bank(settings, tenant, spec, lines, set(settings.tenants), errors))
    assert errors == {
        "adapter.webservice.secret_env": "environment variable KROSNO_CORE_KEY is empty or unset"
    }
    monkeypatch.setenv("KROSNO_CORE_KEY", "test-key")
    errors = {}
    asyncio.run(check_bank(settings, tenant, spec, lines, set(settings.tenants), errors))
    assert errors == {}


def test_tenant_list_show_and_export_say_where_each_bank_came_from(
    banks: TenantStore,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in isolated_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    banks.save("krosno", bank(["181"]), "ola", settings.tenants)
    assert main(["--config", str(TEST_CONFIG), "tenant", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("izbica") and f"file {TEST_CONFIG}" in line for line in listed)
    assert any(
        line.startswith("krosno") and "[181] demo; store, added by ola" in line for line in listed
    )
    assert main(["--config", str(TEST_CONFIG), "tenant", "list", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert (
        rows["krosno"]["origin"]["kind"] == "store" and rows["izbica"]["origin"]["kind"] == "file"
    )
    assert main(["--config", str(TEST_CONFIG), "tenant", "show", "izbica", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["origin"] == {"kind": "file", "where": str(TEST_CONFIG)}
    assert shown["config"]["flow"] == BANK_FLOW

    # Export: what the config file could hold, and what it loads as.
    assert main(["--config", str(TEST_CONFIG), "tenant", "export"]) == 0
    exported = yaml.safe_load(capsys.readouterr().out)
    assert list(exported) == ["krosno"] and exported["krosno"] == bank(["181"])
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["tenants"] = exported
    copy = tmp_path / "infolinia.yaml"
    copy.write_text(yaml.safe_dump(config, allow_unicode=True))
    again = load_settings(copy, env=isolated_env(tmp_path), resolve_secrets=False)
    assert again.tenants["krosno"].lines == ["181"]
    assert again.tenants["krosno"].flow == tmp_path / BANK_FLOW
    assert main(["--config", str(TEST_CONFIG), "tenant", "export", "krosno", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"krosno": bank(["181"])}
    assert main(["--config", str(TEST_CONFIG), "tenant", "show", "nowhere"]) == 2
