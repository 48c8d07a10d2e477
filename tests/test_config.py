"""Config loading: every error names the file and the field."""

from pathlib import Path

import pytest

from stasis_app.config import load_prompt_texts, load_settings
from stasis_app.errors import ConfigError

pytestmark = pytest.mark.unit

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "infolinia.yaml"


def write(tmp_path: Path, text: str, name: str = "infolinia.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_the_password_from_the_environment() -> None:
    settings = load_settings(REPO_CONFIG, env={"INFOLINIA_ARI_PASSWORD": "s3cret"})
    assert settings.ari.password == "s3cret"
    assert settings.ari.app == "infolinia"
    assert settings.prompts == REPO_CONFIG.parent / "prompts" / "pl.yaml"
    assert {"greeting", "main_menu", "card_blocked"} <= set(load_prompt_texts(settings.prompts))
    assert {t.id: t.lines for t in settings.tenants.values()} == {
        "izbica": ["100", "103", "104"],
        "cieszyn": ["101"],
        "staszow": ["102"],
    }
    assert all(
        t.flow == REPO_CONFIG.parent / "flows" / "bank.yaml" for t in settings.tenants.values()
    )


def test_password_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "ari.secret").write_text("from-file\n")
    config = write(tmp_path, "ari:\n  password_file: ari.secret\n")
    assert load_settings(config, env={}).ari.password == "from-file"


def test_environment_overrides_url_and_user(tmp_path: Path) -> None:
    config = write(tmp_path, "ari:\n  url: http://10.0.0.1:8088\n  password: a\n")
    settings = load_settings(
        config, env={"INFOLINIA_ARI_URL": "http://127.0.0.1:9/", "INFOLINIA_ARI_USER": "other"}
    )
    assert settings.ari.url == "http://127.0.0.1:9/"
    assert settings.ari.user == "other"


def test_state_and_admin_settings(tmp_path: Path) -> None:
    config = write(tmp_path, "ari: {password: a}\nstate: var/state.sqlite\nadmin: {port: 9000}\n")
    settings = load_settings(config, env={})
    assert settings.state == tmp_path / "var" / "state.sqlite"  # relative to the file
    assert (settings.admin.listen, settings.admin.port) == ("127.0.0.1", 9000)
    moved = load_settings(
        config, env={"INFOLINIA_STATE": "/srv/state.sqlite", "INFOLINIA_ADMIN_LISTEN": "0.0.0.0"}
    )
    assert moved.state == Path("/srv/state.sqlite")
    assert (moved.admin.listen, moved.admin.port) == ("0.0.0.0", 9000)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("ari:\n  pasword: x\n", "ari.pasword", "Extra inputs"),
        ("ari:\n  password: x\n  ping_interval: -1\n", "ari.ping_interval", "greater than 0"),
        ("ari:\n  password: x\n  url: ftp://x\n", "ari.url", "http://"),
        ("voice:\n  speed: 9000\nari: {password: x}\n", "voice.speed", "less than or equal"),
        ("ari: {}\n", "ari.password", "INFOLINIA_ARI_PASSWORD"),
        ("ari:\n  password_file: nowhere.secret\n", "ari.password_file", "cannot read"),
        ("ari:\n  password: 'a&b'\n", "ari.password", "'&'"),
        ("ari:\n  password: ok\n  user: 'me=you'\n", "ari.user", "'='"),
        ("voice:\n  engines: []\nari: {password: x}\n", "voice.engines", "at least 1"),
        (
            "voice:\n  engines: [{name: espeak-ng, speed: 3}]\nari: {password: x}\n",
            "voice.engines.0.speed",
            "Extra inputs",
        ),
        (
            "voice:\n  engines: [{name: espeak-ng}]\n  speed: 200\nari: {password: x}\n",
            "voice",
            "not both",
        ),
        ("voice:\n  engine: festival\nari: {password: x}\n", "voice.engine", "'espeak-ng'"),
        ("voice:\n  engine_cooloff: 0\nari: {password: x}\n", "voice.engine_cooloff", "greater"),
        (
            "ari: {password: x}\ntenants:\n  a: {name: A, lines: ['1'], flow: f.yaml,"
            " adapter: {name: demo}, voice: {engines: [{settings: {}}]}}\n",
            "tenants.a.voice.engines.0.name",
            "Field required",
        ),
        ("- a list\n", "-", "mapping"),
        ("ari: [unclosed\n", "-", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, field: str, words: str) -> None:
    config = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.file == str(config)
    assert caught.value.field == field
    assert words in caught.value.problem
    assert str(config) in str(caught.value)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: -: file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


@pytest.mark.parametrize(
    ("text", "field"),
    [("greeting: ''\n", "greeting"), ("bad key: x\n", "bad key"), ("greeting: [1]\n", "greeting")],
)
def test_bad_prompt_file_names_the_prompt(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text, "pl.yaml")
    with pytest.raises(ConfigError) as caught:
        load_prompt_texts(path)
    assert caught.value.field == field


def test_prompt_texts_are_normalized(tmp_path: Path) -> None:
    path = write(tmp_path, "greeting: |\n  Dzień   dobry.\n  Tu bank.\n", "pl.yaml")
    assert load_prompt_texts(path) == {"greeting": "Dzień dobry. Tu bank."}


def test_the_older_single_voice_form_still_means_one_espeak_engine(tmp_path: Path) -> None:
    older = write(tmp_path, "voice:\n  engine: espeak-ng\n  voice: pl\n  speed: 300\n")
    [choice] = load_settings(older, resolve_secrets=False, env={}).voice.chain()
    assert (choice.name, choice.settings) == ("espeak-ng", {"voice": "pl", "speed": 300})
    nothing = write(tmp_path, "log_level: info\n", "empty.yaml")
    [default] = load_settings(nothing, resolve_secrets=False, env={}).voice.chain()
    assert (default.name, default.settings) == ("espeak-ng", {})


def test_the_shipped_config_prefers_gtts_and_falls_back_to_espeak() -> None:
    chain = load_settings(REPO_CONFIG, resolve_secrets=False, env={}).voice.chain()
    assert [choice.name for choice in chain] == ["gtts", "espeak-ng"]
    assert chain[0].settings["lang"] == "pl"


def test_each_node_may_have_its_own_spool_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "security: {min_login_seconds: 0.5}\n")
    settings = load_settings(
        path, env={"INFOLINIA_SPOOL_DIR": str(tmp_path / "node2-spool")}, resolve_secrets=False
    )
    assert settings.security.spool_dir == tmp_path / "node2-spool"
    assert settings.security.min_login_seconds == 0.5  # the file's other settings stay
